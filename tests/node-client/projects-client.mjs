// A client in another language: Node's @grpc/grpc-js loading the public .proto files as published.
// Usage: node projects-client.mjs <host:port> <bearer token>
// Registers a project, plans and completes a milestone, reads the history, prints it as JSON.
import { fileURLToPath } from "node:url";
import path from "node:path";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const target = process.argv[2] ?? "127.0.0.1:5101";
const token = process.argv[3] ?? process.env.REGENERATION_TOKEN ?? "";
const protos = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../protos");
const definition = protoLoader.loadSync("regeneration/projects/v1/projects.proto", {
  includeDirs: [protos], keepCase: true, longs: Number, enums: String, defaults: true,
});
const { ProjectService } = grpc.loadPackageDefinition(definition).regeneration.projects.v1;
const client = new ProjectService(target, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set("authorization", `Bearer ${token}`);
const call = (method, request) => new Promise((resolve, reject) =>
  client[method](request, metadata, { deadline: Date.now() + 10_000 }, (error, response) => error ? reject(error) : resolve(response)));

const suffix = Math.random().toString(36).slice(2, 8).toUpperCase();
const registered = await call("RegisterProject", {
  request_id: `node-register-${suffix}`, code: `NODE-${suffix}`, name: "Node-registered ITS extension",
  district: "Taejang-dong", category: "PROJECT_CATEGORY_SMART_MOBILITY", owner: "pm.node",
  planned_start: "2026-01-01", planned_end: "2026-12-31",
  contributions: [{ dimension: "mobility", weight: 100 }],
});
const projectId = registered.result.stream_id;
await call("ChangeProjectStatus", { request_id: `node-activate-${suffix}`, project_id: projectId, status: "PROJECT_STATUS_ACTIVE" });
const planned = await call("PlanMilestone", {
  request_id: `node-plan-${suffix}`, project_id: projectId, name: "Signal survey", weight: 50, due_date: "2026-06-30",
});
await call("CompleteMilestone", {
  request_id: `node-complete-${suffix}`, project_id: projectId, milestone_id: planned.result.entity_id, completed_on: "2026-01-15",
});
const history = await call("GetProjectHistory", { project_id: projectId });
let invalid = null;
try {
  await call("PlanMilestone", { request_id: `node-bad-${suffix}`, project_id: projectId, name: "", weight: 500, due_date: "soon" });
} catch (error) {
  invalid = grpc.status[error.code];
}
console.log(JSON.stringify({
  projectId,
  events: history.events.map(e => e.envelope.type),
  completedOn: history.events.find(e => e.milestone_completed)?.milestone_completed.completed_on,
  invalid,
}));
client.close();
