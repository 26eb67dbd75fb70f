"""Between OpenAI-shaped dicts and voxgate.v1 messages (shared by both clients)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from voxgate.v1 import audio_pb2, chat_pb2, models_pb2, stream_pb2, transcribe_pb2

AudioSource = Union[bytes, bytearray, str, "os.PathLike[str]"]

_ROLES = {
    "system": chat_pb2.ROLE_SYSTEM,
    "user": chat_pb2.ROLE_USER,
    "assistant": chat_pb2.ROLE_ASSISTANT,
    "tool": chat_pb2.ROLE_TOOL,
    "developer": chat_pb2.ROLE_DEVELOPER,
}
_FINISH = {
    chat_pb2.FINISH_REASON_STOP: "stop",
    chat_pb2.FINISH_REASON_LENGTH: "length",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "content_filter",
    chat_pb2.FINISH_REASON_TOOL_CALLS: "tool_calls",
}
_AUDIO_FORMATS = {
    "wav": audio_pb2.AUDIO_ENCODING_WAV,
    "mp3": audio_pb2.AUDIO_ENCODING_MP3,
    "flac": audio_pb2.AUDIO_ENCODING_FLAC,
}
_OUTPUTS = {
    "text": audio_pb2.OUTPUT_FORMAT_TEXT,
    "json": audio_pb2.OUTPUT_FORMAT_TEXT,
    "verbose_json": audio_pb2.OUTPUT_FORMAT_SEGMENTS,
    "srt": audio_pb2.OUTPUT_FORMAT_SRT,
    "vtt": audio_pb2.OUTPUT_FORMAT_VTT,
}


def read_audio(source: AudioSource) -> bytes:
    """Bytes as given, or the contents of a path."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    with open(os.fspath(source), "rb") as file:
        return file.read()


def seconds(duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def recognition_config(model: Optional[str], language: Optional[str],
                       prompt: Optional[str], temperature: Optional[float],
                       response_format: str,
                       word_timestamps: bool) -> audio_pb2.RecognitionConfig:
    if response_format not in _OUTPUTS:
        raise ValueError(
            f"response_format must be one of {sorted(_OUTPUTS)}, got {response_format!r}")
    config = audio_pb2.RecognitionConfig(
        model=model or "", prompt=prompt or "",
        enable_word_timestamps=word_timestamps)
    if language:
        config.language_codes.append(language)
    if temperature is not None:
        config.temperature = temperature
    config.output_formats.append(_OUTPUTS[response_format])
    if response_format == "verbose_json":
        config.enable_segment_timestamps = True
    return config


def transcription_dict(response: transcribe_pb2.TranscribeResponse) -> Dict[str, Any]:
    """Shaped like OpenAI's verbose_json transcription, plus gateway facts."""
    result: Dict[str, Any] = {
        "text": response.text,
        "language": response.language_code,
        "duration": seconds(response.audio_duration),
        "segments": [{
            "id": segment.id,
            "start": seconds(segment.start_offset),
            "end": seconds(segment.end_offset),
            "text": segment.text,
            "words": [{"word": w.word, "start": seconds(w.start_offset),
                       "end": seconds(w.end_offset)} for w in segment.words],
        } for segment in response.segments],
        "model": response.model,
        "backend": response.backend,
        "request_id": response.request_id,
        "warnings": list(response.warnings),
    }
    if response.srt:
        result["srt"] = response.srt
    if response.vtt:
        result["vtt"] = response.vtt
    return result


def _content_parts(content: Any) -> List[chat_pb2.ContentPart]:
    if isinstance(content, str):
        return [chat_pb2.ContentPart(text=content)]
    parts = []
    for part in content or []:
        kind = part.get("type")
        if kind == "text":
            parts.append(chat_pb2.ContentPart(text=part["text"]))
        elif kind == "input_audio":
            audio = part["input_audio"]
            fmt = audio.get("format", "wav")
            if fmt not in _AUDIO_FORMATS:
                raise ValueError(f"input_audio.format must be wav, mp3 or flac, got {fmt!r}")
            parts.append(chat_pb2.ContentPart(audio=audio_pb2.AudioInput(
                content=base64.b64decode(audio["data"]),
                format=audio_pb2.AudioFormat(encoding=_AUDIO_FORMATS[fmt]))))
        elif kind == "image_url":
            image = part["image_url"]
            parts.append(chat_pb2.ContentPart(image_url=chat_pb2.ImageUrl(
                url=image["url"], detail=image.get("detail", ""))))
        else:
            raise ValueError(f"unsupported content part type {kind!r}")
    return parts


def chat_request(messages: Iterable[Mapping[str, Any]],
                 params: Mapping[str, Any]) -> chat_pb2.ChatRequest:
    """OpenAI chat.completions arguments as a ChatRequest. Parameters the API
    has no field for go to backend_options (JSON-encoded) for the model server."""
    request = chat_pb2.ChatRequest(model=params.get("model") or "")
    for message in messages:
        role = message.get("role", "user")
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}")
        request.messages.append(chat_pb2.ChatMessage(
            role=_ROLES[role], content=_content_parts(message.get("content")),
            name=message.get("name", ""),
            tool_call_id=message.get("tool_call_id", "")))
    generation = request.generation
    for name in ("temperature", "top_p", "seed", "presence_penalty",
                 "frequency_penalty"):
        if params.get(name) is not None:
            setattr(generation, name, params[name])
    max_tokens = params.get("max_tokens", params.get("max_completion_tokens"))
    if max_tokens is not None:
        generation.max_tokens = max_tokens
    stop = params.get("stop")
    if stop:
        generation.stop.extend([stop] if isinstance(stop, str) else stop)
    response_format = params.get("response_format")
    if response_format:
        kind = response_format.get("type")
        if kind == "json_object":
            generation.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
        elif kind == "json_schema":
            schema = response_format.get("json_schema", {})
            generation.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
            generation.response_format.schema_name = schema.get("name", "")
            generation.response_format.json_schema = json.dumps(schema.get("schema", {}))
        elif kind == "text":
            generation.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_TEXT
    known = {"model", "temperature", "top_p", "seed", "presence_penalty",
             "frequency_penalty", "max_tokens", "max_completion_tokens", "stop",
             "response_format", "stream", "timeout_s"}
    for name, value in params.items():
        if name not in known and value is not None:
            request.backend_options[name] = json.dumps(value)
    return request


def usage_dict(usage: audio_pb2.Usage) -> Dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens + usage.audio_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "audio_seconds": usage.audio_seconds,
    }


def chat_completion_dict(response: chat_pb2.ChatResponse) -> Dict[str, Any]:
    """An OpenAI chat.completion object."""
    return {
        "id": response.request_id,
        "object": "chat.completion",
        "model": response.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": response.content},
            "finish_reason": _FINISH.get(response.finish_reason, "stop"),
        }],
        "usage": usage_dict(response.usage),
        "warnings": list(response.warnings),
    }


def analyze_request(audio: bytes, instruction: str, mode: str,
                    model: Optional[str], system_prompt: Optional[str],
                    params: Mapping[str, Any]) -> transcribe_pb2.AnalyzeRequest:
    modes = {"direct": transcribe_pb2.ANALYZE_MODE_DIRECT,
             "cascade": transcribe_pb2.ANALYZE_MODE_CASCADE}
    if mode not in modes:
        raise ValueError(f"mode must be 'direct' or 'cascade', got {mode!r}")
    request = transcribe_pb2.AnalyzeRequest(
        audio=audio_pb2.AudioInput(content=audio), instruction=instruction,
        mode=modes[mode], model=model or "", system_prompt=system_prompt or "",
        include_transcript=True)
    generation = chat_request([], params).generation
    request.generation.CopyFrom(generation)
    return request


def analysis_dict(response: transcribe_pb2.AnalyzeResponse) -> Dict[str, Any]:
    return {
        "answer": response.answer,
        "transcript": response.transcript,
        "finish_reason": _FINISH.get(response.finish_reason, "stop"),
        "usage": usage_dict(response.usage),
    }


def model_dicts(response: models_pb2.ListModelsResponse) -> List[Dict[str, Any]]:
    """OpenAI-like model objects with the gateway's capabilities."""
    return [{
        "id": model.id,
        "object": "model",
        "owned_by": model.pool,
        "pool": model.pool,
        "protocol": model.protocol,
        "capabilities": [
            models_pb2.Capability.Name(c).removeprefix("CAPABILITY_").lower()
            for c in model.capabilities],
        "languages": list(model.languages),
        "available": model.available,
    } for model in response.models]


def stream_config(sample_rate: int, interim_results: bool, model: Optional[str],
                  language: Optional[str]) -> stream_pb2.StreamTranscribeRequest:
    config = stream_pb2.StreamTranscribeConfig(
        format=audio_pb2.AudioFormat(encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
                                     sample_rate_hertz=sample_rate, channel_count=1),
        recognition=audio_pb2.RecognitionConfig(model=model or ""),
        interim_results=interim_results)
    if language:
        config.recognition.language_codes.append(language)
    return stream_pb2.StreamTranscribeRequest(config=config)


def wav_pcm(data: bytes) -> tuple:
    """(sample rate, PCM bytes) of a 16-bit mono or stereo-mixed WAV."""
    import io
    import wave
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("stream_transcribe takes 16-bit WAV files; "
                             "pass chunks of raw PCM for other audio")
        rate, channels = wav.getframerate(), wav.getnchannels()
        frames = wav.readframes(wav.getnframes())
    if channels != 1:
        import array
        samples = array.array("h", frames)
        mono = array.array("h", (sum(samples[i:i + channels]) // channels
                                 for i in range(0, len(samples), channels)))
        frames = mono.tobytes()
    return rate, frames


def stream_result_dict(response: stream_pb2.StreamTranscribeResponse) -> Optional[Dict[str, Any]]:
    if not response.HasField("result"):
        return None
    result = response.result
    return {
        "text": result.text,
        "is_final": result.is_final,
        "utterance_index": result.utterance_index,
        "start": seconds(result.start_offset),
        "end": seconds(result.end_offset),
        "language": result.language_code,
    }
