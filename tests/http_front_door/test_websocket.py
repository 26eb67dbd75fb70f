"""StreamTranscribe over the WebSocket, with a real WebSocket client."""

import json
import struct
import subprocess
from typing import List, Tuple

import pytest
import websocket

from conftest import SENTENCE, word_errors, words
from test_http_wire import still_serves

PCM_CONFIG = {"format": {"encoding": "AUDIO_ENCODING_LINEAR16", "sampleRateHertz": 16000,
                         "channelCount": 1},
              "interimResults": True, "interimInterval": "0.3s", "enableSpeechEvents": True}


def connect(gateway, **options) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://127.0.0.1:{gateway.http_port}"
                                       "/v1/stream/transcribe", timeout=60, **options)


def collect(ws: websocket.WebSocket, answer_close: bool = False
            ) -> Tuple[List[dict], int, str]:
    """Every message until the server closes: (messages, close code, reason).
    The close is answered only when asked: the server may be gone once its
    close frame is out."""
    messages = []
    if not answer_close:
        ws.send_close = lambda *args, **kwargs: None
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
            return messages, code, data[2:].decode(errors="replace")
        if opcode == websocket.ABNF.OPCODE_TEXT:
            messages.append(json.loads(data))


def finals(messages: List[dict]) -> str:
    return " ".join(m["result"]["text"] for m in messages
                    if "result" in m and m["result"].get("isFinal"))


def send_in_pieces(ws, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        ws.send_binary(data[start:start + size])


def test_raw_pcm_stream_gets_interim_and_final_results(gateway, speech_wav):
    ws = connect(gateway)
    ws.send(json.dumps(PCM_CONFIG))
    pcm = speech_wav.read_bytes()[44:]
    middle = 32000 * 2  # 1 s of silence, then 1 s of the sentence
    send_in_pieces(ws, pcm[:middle], 3200)  # 100 ms pieces
    # The utterance is in progress: an interim result comes before its end.
    early = []
    while not any("result" in m for m in early):
        early.append(json.loads(ws.recv()))
    send_in_pieces(ws, pcm[middle:], 3200)
    ws.send(json.dumps({"type": "end"}))
    messages, code, reason = collect(ws)
    messages = early + messages
    assert code == 1000, reason
    assert word_errors(words(SENTENCE), words(finals(messages))) <= 1, messages
    assert any("result" in m and not m["result"].get("isFinal") for m in messages)
    events = [m["event"]["type"] for m in messages if "event" in m]
    assert events[0] == "TYPE_SPEECH_BEGIN" and "TYPE_END_OF_UTTERANCE" in events
    assert messages[0]["requestId"]


def test_webm_opus_stream_as_mediarecorder_sends_it(gateway, speech_wav, tmp_path):
    webm = tmp_path / "speech.webm"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(speech_wav), "-c:a",
                    "libopus", "-b:a", "32k", str(webm)], check=True)
    ws = connect(gateway)
    ws.send(json.dumps({"format": {"encoding": "AUDIO_ENCODING_WEBM_OPUS"},
                        "interimResults": True}))
    send_in_pieces(ws, webm.read_bytes(), 2000)
    ws.send(json.dumps({"type": "end"}))
    messages, code, reason = collect(ws)
    assert code == 1000, reason
    assert word_errors(words(SENTENCE), words(finals(messages))) <= 1, messages


def test_finalize_ends_the_utterance_early(gateway, speech_wav):
    ws = connect(gateway)
    ws.send(json.dumps(PCM_CONFIG))
    pcm = speech_wav.read_bytes()[44:]
    # Up to the end of the speech, without the trailing silence that would
    # end the utterance by itself.
    send_in_pieces(ws, pcm[:int(len(pcm) * 0.6)], 3200)
    ws.send(json.dumps({"type": "finalize"}))
    ws.send(json.dumps({"type": "end"}))
    messages, code, reason = collect(ws)
    assert code == 1000, reason
    assert finals(messages)


def test_binary_before_config_closes_4003(gateway):
    ws = connect(gateway)
    ws.send_binary(b"\x00" * 320)
    _, code, reason = collect(ws)
    assert code == 4003  # 4000 + INVALID_ARGUMENT
    assert "first message must be the StreamTranscribeConfig" in reason
    still_serves(gateway)


def test_invalid_config_closes_4003_naming_the_field(gateway):
    ws = connect(gateway)
    ws.send(json.dumps({"format": {"encoding": "AUDIO_ENCODING_NOPE"}}))
    _, code, reason = collect(ws)
    assert code == 4003 and "config" in reason


def test_message_over_the_limit_closes_1009(gateway):
    ws = connect(gateway)
    ws.send(json.dumps(PCM_CONFIG))
    ws.send_binary(b"\x00" * 100000)  # over http.max_websocket_message_bytes
    _, code, _ = collect(ws)
    assert code == 1009
    still_serves(gateway)


def test_foreign_origin_closes_1008(gateway):
    ws = connect(gateway, origin="https://evil.example")
    _, code, reason = collect(ws)
    assert code == 1008 and "cors_allowed_origins" in reason


def test_websocket_on_another_path_is_refused(gateway):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{gateway.http_port}/v1/models",
                                    timeout=10)
    assert refused.value.status_code == 404


def test_silent_client_is_ended_at_the_idle_timeout(fake):
    from conftest import Gateway
    quick = Gateway(fake, "limits:\n  stream_idle_timeout: 1s")
    try:
        ws = connect(quick)
        ws.send(json.dumps(PCM_CONFIG))
        _, code, reason = collect(ws)  # waits for the server's close
        assert code == 4004  # 4000 + DEADLINE_EXCEEDED
        assert "limits.stream_idle_timeout" in reason
    finally:
        quick.stop()


def test_a_read_waiting_when_the_stream_ends_finds_it_ended(fake):
    """The idle timeout ends the stream while the gateway waits for the
    client; the client then answers the close, which completes that waiting
    read after the stream is gone. The gateway must shrug it off and serve on
    (it once followed a null session there)."""
    from conftest import Gateway
    quick = Gateway(fake, "limits:\n  stream_idle_timeout: 1s")
    try:
        ws = connect(quick)
        ws.send(json.dumps(PCM_CONFIG))
        _, code, _ = collect(ws, answer_close=True)
        assert code == 4004
        # The server shuts the TCP connection once the handshake is done,
        # which is after the waiting read has completed.
        ws.sock.settimeout(30)
        assert ws.sock.recv(1) == b""
        still_serves(quick)
        assert quick.process.death() is None
    finally:
        quick.stop()
