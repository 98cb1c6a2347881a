// Validates the gateway's OpenAPI document with @apidevtools/swagger-parser (schema and references).
// Usage: node validate.mjs <url of the document>
import SwaggerParser from "@apidevtools/swagger-parser";

const url = process.argv[2];
const response = await fetch(url);
if (!response.ok) { console.error(`GET ${url}: ${response.status}`); process.exit(1); }
const document = await response.json();
try {
  const api = await SwaggerParser.validate(document);
  console.log(`valid: ${api.info.title}, OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
