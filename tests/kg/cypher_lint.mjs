// Lint Cypher statements with Neo4j's own linter (@neo4j-cypher/language-support).
// stdin:  {"statements": [{"name", "query"}], "schema": {"labels", "relationshipTypes",
//          "propertyKeys", "parameters"}}   (schema entries are added to the mock Neo4j 5 schema)
// stdout: [{"name", "diagnostics": [{"severity", "message", "offset"}]}]
import * as cypher from '@neo4j-cypher/language-support';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

// The mock schema carries Neo4j 5's procedure and function signatures; our labels, types,
// properties and parameters are added so that only real mistakes are reported.
const mock = cypher.testData.mockSchema;
const extra = input.schema ?? {};
const dbSchema = {
  ...mock,
  labels: [...mock.labels, ...(extra.labels ?? [])],
  relationshipTypes: [...mock.relationshipTypes, ...(extra.relationshipTypes ?? [])],
  propertyKeys: [...mock.propertyKeys, ...(extra.propertyKeys ?? [])],
  parameters: { ...mock.parameters, ...(extra.parameters ?? {}) },
  defaultLanguage: 'CYPHER 5',
};

const severity = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const out = input.statements.map(({ name, query }) => {
  const { diagnostics } = cypher.lintCypherQuery(query, dbSchema);
  return {
    name,
    diagnostics: diagnostics.map((d) => ({
      severity: severity[d.severity] ?? String(d.severity),
      message: d.message,
      offset: d.offsets ? d.offsets.start : null,
    })),
  };
});
process.stdout.write(JSON.stringify(out));
