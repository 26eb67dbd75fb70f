// Voxgate's captions page: no build step, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
// Counters the browser test reads.
window.voxgate = { interims: 0, finals: 0, finalTexts: [], closeCode: null };

function seconds(duration) {
  // Proto JSON durations are strings such as "1.250s".
  return duration ? parseFloat(duration) : 0;
}

function clock(value) {
  const minutes = Math.floor(value / 60);
  return `${String(minutes).padStart(2, "0")}:${(value % 60).toFixed(1).padStart(4, "0")}`;
}

// One caption line per utterance: interim text until the final replaces it.
function showResult(result) {
  const index = result.utteranceIndex || 0;
  let line = document.querySelector(`[data-utterance="${index}"]`);
  if (!line) {
    line = document.createElement("div");
    line.className = "line";
    line.dataset.utterance = index;
    line.innerHTML = '<span class="time"></span><span class="text"></span>';
    $("captions").appendChild(line);
  }
  const text = line.querySelector(".text");
  text.textContent = result.text || "";
  text.className = result.isFinal ? "text final" : "text interim";
  line.querySelector(".time").textContent =
    `${clock(seconds(result.startOffset))}–${clock(seconds(result.endOffset))}`;
  if (result.isFinal) {
    window.voxgate.finals++;
    window.voxgate.finalTexts.push(result.text || "");
  } else {
    window.voxgate.interims++;
  }
}

let socket = null;
let recorder = null;

async function start() {
  $("start").disabled = true;
  $("status").textContent = "asking for the microphone…";
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    $("status").textContent = `no microphone: ${error.message}`;
    $("start").disabled = false;
    return;
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}/v1/stream/transcribe`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    socket.send(JSON.stringify({
      format: { encoding: "AUDIO_ENCODING_WEBM_OPUS" },
      interimResults: true,
      interimInterval: "0.5s",
      enableSpeechEvents: true,
    }));
    recorder = new MediaRecorder(media, { mimeType: "audio/webm;codecs=opus" });
    recorder.ondataavailable = async (event) => {
      if (event.data.size > 0 && socket.readyState === WebSocket.OPEN) {
        socket.send(await event.data.arrayBuffer());
      }
    };
    recorder.onstop = () => {
      media.getTracks().forEach((track) => track.stop());
      // Let the last ondataavailable go first.
      setTimeout(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "end" }));
      }, 0);
    };
    recorder.start(250);
    $("status").textContent = "listening";
    $("stop").disabled = false;
  };
  socket.onmessage = (event) => {
    const response = JSON.parse(event.data);
    if (response.result) showResult(response.result);
  };
  socket.onclose = (event) => {
    window.voxgate.closeCode = event.code;
    $("status").textContent = event.code === 1000
      ? "done" : `closed ${event.code}: ${event.reason}`;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    $("start").disabled = false;
    $("stop").disabled = true;
  };
}

function stop() {
  $("stop").disabled = true;
  $("status").textContent = "finishing…";
  if (recorder && recorder.state !== "inactive") recorder.stop();
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("response_format", "srt");
  $("file-status").textContent = "transcribing…";
  const response = await fetch("/v1/audio/transcriptions", { method: "POST", body: form });
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try { message = JSON.parse(body).error.message; } catch (_) { /* not JSON */ }
    $("file-status").textContent = `error ${response.status}: ${message}`;
    return;
  }
  $("file-status").textContent = "done";
  $("srt").textContent = body;
  $("srt").hidden = false;
  const link = $("download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([body], { type: "application/x-subrip" }));
  link.hidden = false;
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
$("upload").addEventListener("submit", upload);
