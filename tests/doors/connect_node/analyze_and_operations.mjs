// Connect's own Node client against the gateway's Connect door: Analyze
// (CASCADE) with audio, then a BatchTranscribe followed through
// google.longrunning.Operations/GetOperation. Prints what came back as one
// JSON line; test_connect_clients.py checks it.
//
// usage: node analyze_and_operations.mjs BASE_URL AUDIO.wav

import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Operations } from "./gen/google/longrunning/operations_pb.js";
import { BatchTranscribeResponseSchema } from "./gen/voxgate/v1/batch_pb.js";
import { VoxgateService } from "./gen/voxgate/v1/service_pb.js";
import { AnalyzeMode } from "./gen/voxgate/v1/transcribe_pb.js";

const [baseUrl, audioPath] = process.argv.slice(2);
const audio = new Uint8Array(readFileSync(audioPath));
const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
const voxgate = createClient(VoxgateService, transport);
const operations = createClient(Operations, transport);

const analysis = await voxgate.analyze({
  audio: { content: audio },
  instruction: "Summarise this.",
  mode: AnalyzeMode.CASCADE,
  model: "llama3",
  recognition: { model: "whisper-1" },
});

const submitted = await voxgate.batchTranscribe({
  files: [{ id: "first", audio: { content: audio } }],
  config: { model: "whisper-1" },
});
let operation = submitted;
for (let look = 0; !operation.done && look < 600; look++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  operation = await operations.getOperation({ name: submitted.name });
}
const batch =
  operation.result.case === "response"
    ? anyUnpack(operation.result.value, BatchTranscribeResponseSchema)
    : undefined;

let missing = null;
try {
  await operations.getOperation({ name: "operations/batch-" + "0".repeat(32) });
} catch (error) {
  missing = ConnectError.from(error).code;
}

console.log(
  JSON.stringify({
    answer: analysis.answer,
    transcript: analysis.transcript,
    mode: AnalyzeMode[analysis.mode],
    operation: submitted.name,
    done: operation.done,
    files: batch?.results.map((file) => ({
      id: file.id,
      text: file.outcome.case === "result" ? file.outcome.value.text : null,
    })),
    missing_code: missing,
  }),
);
