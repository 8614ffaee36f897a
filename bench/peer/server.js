// The enqueue path on the PRD's own stack (Fastify + node-postgres + BullMQ), for the benchmark:
// the same durable work as datatasks' POST /generate and POST /export - validate the body,
// INSERT the job row into the same `jobs` table (same columns and indexes: the benchmark
// migrates a schema for it), commit, `queue.add` with the same options, answer 202 with
// Location. Environment: PORT, DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, QUEUE_PREFIX.
"use strict";

const crypto = require("node:crypto");
const Fastify = require("fastify");
const { Pool } = require("pg");
const { Queue } = require("bullmq");
const IORedis = require("ioredis");

const schema = process.env.DATABASE_SCHEMA;
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  options: `-c search_path=${schema}`,
});
const redis = new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const queues = {
  generation: new Queue("generation", { connection: redis, prefix: process.env.QUEUE_PREFIX }),
  export: new Queue("export", { connection: redis, prefix: process.env.QUEUE_PREFIX }),
};

const field = {
  type: "object",
  required: ["name", "type"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 64 },
    type: { type: "string", minLength: 1, maxLength: 32 },
    null_rate: { type: "number", minimum: 0, maximum: 1 },
  },
};
const generateBody = {
  type: "object",
  required: ["record_type", "count", "fields"],
  properties: {
    record_type: { type: "string", pattern: "^[a-z0-9_]{1,64}$" },
    count: { type: "integer", minimum: 1, maximum: 10000000 },
    seed: { type: "integer", minimum: 0 },
    dataset_name: { type: "string", minLength: 1, maxLength: 255 },
    fields: { type: "array", minItems: 1, maxItems: 200, items: field },
  },
};
const exportBody = {
  type: "object",
  required: ["format"],
  properties: {
    format: { enum: ["csv", "json", "ndjson", "parquet"] },
    record_type: { type: "string", pattern: "^[a-z0-9_]{1,64}$" },
    dataset_id: { type: "string", format: "uuid" },
    fields: { type: "array", minItems: 1, maxItems: 500, items: { type: "string" } },
    compression: { enum: ["none", "gzip"] },
  },
};

const jobOptions = (id) => ({
  jobId: id,
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { count: 10000 },
});

async function enqueue(reply, type, queue, params, total) {
  const id = crypto.randomUUID();
  await pool.query(
    "INSERT INTO jobs (id, type, params, progress_total) VALUES ($1, $2, $3, $4)",
    [id, type, params, total],
  );
  await queues[queue].add(type, { job_id: id }, jobOptions(id));
  const url = `/status/${id}`;
  reply.code(202).header("location", url);
  return { job_id: id, status: "pending", status_url: url };
}

const app = Fastify({ logger: false });
app.post("/generate", { schema: { body: generateBody } }, (request, reply) => {
  const body = request.body;
  const params = { ...body, seed: body.seed ?? crypto.randomInt(2 ** 31) };
  return enqueue(reply, "generate", "generation", params, body.count);
});
app.post("/export", { schema: { body: exportBody } }, (request, reply) =>
  enqueue(reply, "export", "export", request.body, 0),
);
app.get("/health/live", async () => ({ status: "ok" }));

app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" }).catch((err) => {
  console.error(err);
  process.exit(1);
});
