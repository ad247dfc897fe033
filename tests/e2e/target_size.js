// WCAG 2.2 SC 2.5.8, target size (minimum): a visible target is at least 24 x 24 CSS px, or is a
// link inside running text, or is spaced: a 24 px circle centred on it meets no other target and no
// other undersized target's circle. Returns {checked, undersized, failures}.
const selector = 'a[href], button, select, input:not([type="hidden"]), summary, [role="button"]';
const targets = [];
for (const el of document.querySelectorAll(selector)) {
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
  const ownText = (el.innerText || '').trim();
  const parentText = (el.parentElement.innerText || '').trim();
  // The inline exception: a link in a sentence is as tall as the line it sits in.
  const inline = el.tagName === 'A' && style.display === 'inline' && parentText.length > ownText.length + 1;
  const small = box.width < 24 || box.height < 24;
  targets.push({el, box, inline, small, centre: [box.left + box.width / 2, box.top + box.height / 2]});
}
const distanceToBox = (point, box) => Math.hypot(
  Math.max(box.left - point[0], 0, point[0] - box.right), Math.max(box.top - point[1], 0, point[1] - box.bottom));
const name = t => `${t.el.tagName.toLowerCase()}.${t.el.className} "${
  (t.el.innerText || t.el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
const failures = [];
const undersized = targets.filter(t => t.small && !t.inline);
for (const t of undersized) {
  const clash = targets.find(o => o !== t && (distanceToBox(t.centre, o.box) < 12
    || (o.small && !o.inline && Math.hypot(t.centre[0] - o.centre[0], t.centre[1] - o.centre[1]) < 24)));
  if (clash) {
    failures.push(`${name(t)} ${t.box.width.toFixed(1)}x${t.box.height.toFixed(1)} crowds ${name(clash)}`);
  }
}
return {checked: targets.length, undersized: undersized.length, failures};
