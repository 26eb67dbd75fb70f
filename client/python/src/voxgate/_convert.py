"""Between OpenAI-shaped dicts and voxgate.v1 messages (shared by both clients)."""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any, BinaryIO, Dict, Iterable, List, Mapping, Optional, Tuple, Union

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


def open_upload(source: Any) -> Tuple[BinaryIO, Optional[int], bool]:
    """A readable binary file for ``source`` (bytes, a path, or a binary file
    object), its size when known, and whether the caller must close it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), len(data), True
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        path = os.fspath(source)
        return open(path, "rb"), os.path.getsize(path), True
    size = None
    try:
        size = os.fstat(source.fileno()).st_size - source.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return source, size, False


def audio_size(source: Any) -> Optional[int]:
    """The size of bytes or a file at a path, without reading it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        return os.path.getsize(os.fspath(source))
    return None


def upload_progress_dict(progress: transcribe_pb2.UploadProgress) -> Dict[str, Any]:
    return {
        "bytes_received": progress.bytes_received,
        "audio_decoded": seconds(progress.audio_decoded),
        "audio_transcribed": seconds(progress.audio_transcribed),
        "chunks_cut": progress.chunks_cut,
        "chunks_done": progress.chunks_done,
    }


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
            name=message.get("name") or "",
            tool_call_id=message.get("tool_call_id") or "",
            tool_calls=[_tool_call(call) for call in message.get("tool_calls") or []]))
    _set_tools(request.tools, request.tool_choice, params)
    if params.get("parallel_tool_calls") is not None:
        request.parallel_tool_calls = params["parallel_tool_calls"]
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
            generation.response_format.strict = bool(schema.get("strict", False))
        elif kind == "text":
            generation.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_TEXT
    known = {"model", "temperature", "top_p", "seed", "presence_penalty",
             "frequency_penalty", "max_tokens", "max_completion_tokens", "stop",
             "response_format", "stream", "timeout_s", "tools", "tool_choice",
             "parallel_tool_calls"}
    for name, value in params.items():
        if name not in known and value is not None:
            request.backend_options[name] = json.dumps(value)
    return request


def _tool_call(call: Mapping[str, Any]) -> chat_pb2.ToolCall:
    """An OpenAI tool_calls[] entry as a ToolCall."""
    function = call.get("function") or {}
    arguments = function.get("arguments", "")
    return chat_pb2.ToolCall(id=call.get("id") or "", name=function.get("name") or "",
                             arguments=arguments if isinstance(arguments, str)
                             else json.dumps(arguments))


def _set_tools(tools: Any, tool_choice: chat_pb2.ToolChoice,
               params: Mapping[str, Any]) -> None:
    """OpenAI tools and tool_choice onto the request's fields."""
    for tool in params.get("tools") or []:
        if tool.get("type", "function") != "function":
            raise ValueError(f"only function tools are supported, got {tool.get('type')!r}")
        function = tool["function"]
        tools.append(chat_pb2.Tool(
            name=function["name"], description=function.get("description", ""),
            parameters_json=json.dumps(function["parameters"])
            if function.get("parameters") is not None else "",
            strict=bool(function.get("strict", False))))
    choice = params.get("tool_choice")
    if isinstance(choice, str):
        modes = {"auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
                 "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
                 "required": chat_pb2.TOOL_CHOICE_MODE_REQUIRED}
        if choice not in modes:
            raise ValueError(f"tool_choice must be auto, none, required or a function, "
                             f"got {choice!r}")
        tool_choice.mode = modes[choice]
    elif isinstance(choice, Mapping):
        tool_choice.function_name = choice["function"]["name"]


def tool_calls_list(calls: Iterable[chat_pb2.ToolCall]) -> List[Dict[str, Any]]:
    """ToolCalls in OpenAI's tool_calls[] shape."""
    return [{"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in calls]


def usage_dict(usage: audio_pb2.Usage) -> Dict[str, Any]:
    # input_tokens already counts the audio tokens (audio.proto says so).
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"audio_tokens": usage.audio_tokens},
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
            "message": _assistant_message(response.content, response.tool_calls),
            "finish_reason": _FINISH.get(response.finish_reason, "stop"),
        }],
        "usage": usage_dict(response.usage),
        "warnings": list(response.warnings),
    }


def _assistant_message(content: str, calls: Iterable[chat_pb2.ToolCall]) -> Dict[str, Any]:
    calls = tool_calls_list(calls)
    message: Dict[str, Any] = {"role": "assistant",
                               "content": content if content or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


class StreamState:
    """What a ChatStream's chunks add up to besides the text: the finish
    reason, usage, model and tool calls (assembled from their deltas)."""

    def __init__(self) -> None:
        self.finish_reason: Optional[str] = None
        self.usage: Optional[Dict[str, Any]] = None
        self.model = ""
        self.request_id = ""
        self.tool_calls: List[Dict[str, Any]] = []

    def add(self, chunk: chat_pb2.ChatChunk) -> str:
        """Takes a chunk in; returns its text delta."""
        self.model = self.model or chunk.model
        self.request_id = self.request_id or chunk.request_id
        for piece in chunk.tool_calls:
            while len(self.tool_calls) <= piece.index:
                self.tool_calls.append({"id": "", "type": "function",
                                        "function": {"name": "", "arguments": ""}})
            call = self.tool_calls[piece.index]
            call["id"] += piece.id
            call["function"]["name"] += piece.name
            call["function"]["arguments"] += piece.arguments
        if chunk.finish_reason:
            self.finish_reason = _FINISH.get(chunk.finish_reason, "stop")
        if chunk.HasField("usage"):
            self.usage = usage_dict(chunk.usage)
        return chunk.delta


class StreamEnd:
    """How a chat stream ended, read from its ``_state`` (a StreamState);
    shared by the sync and async streams."""

    _state: StreamState

    @property
    def finish_reason(self) -> Optional[str]:
        return self._state.finish_reason

    @property
    def usage(self) -> Optional[Dict[str, Any]]:
        return self._state.usage

    @property
    def model(self) -> str:
        return self._state.model

    @property
    def tool_calls(self) -> List[Dict[str, Any]]:
        return self._state.tool_calls



def analyze_request(audio: bytes, instruction: str, mode: Optional[str],
                    model: Optional[str], system_prompt: Optional[str],
                    params: Mapping[str, Any]) -> transcribe_pb2.AnalyzeRequest:
    """``mode`` None lets the server choose (DIRECT when an audio chat model
    is configured, else CASCADE); the transcript of DIRECT costs a second
    upstream step, so it comes only with ``include_transcript=True``."""
    modes = {None: transcribe_pb2.ANALYZE_MODE_UNSPECIFIED,
             "auto": transcribe_pb2.ANALYZE_MODE_UNSPECIFIED,
             "direct": transcribe_pb2.ANALYZE_MODE_DIRECT,
             "cascade": transcribe_pb2.ANALYZE_MODE_CASCADE}
    if mode not in modes:
        raise ValueError(f"mode must be 'auto', 'direct' or 'cascade', got {mode!r}")
    params = dict(params)
    history = params.pop("history", None) or []
    include_transcript = bool(params.pop("include_transcript", False))
    chat = chat_request(history, params)
    request = transcribe_pb2.AnalyzeRequest(
        audio=audio_pb2.AudioInput(content=audio), instruction=instruction,
        mode=modes[mode], model=model or "", system_prompt=system_prompt or "",
        include_transcript=include_transcript, history=chat.messages, tools=chat.tools)
    if chat.HasField("tool_choice"):
        request.tool_choice.CopyFrom(chat.tool_choice)
    request.generation.CopyFrom(chat.generation)
    return request


def analysis_dict(response: transcribe_pb2.AnalyzeResponse) -> Dict[str, Any]:
    return {
        "answer": response.answer,
        "transcript": response.transcript,
        "finish_reason": _FINISH.get(response.finish_reason, "stop"),
        "usage": usage_dict(response.usage),
        "tool_calls": tool_calls_list(response.tool_calls),
        "mode": transcribe_pb2.AnalyzeMode.Name(response.mode)
        .removeprefix("ANALYZE_MODE_").lower(),
        "transcription_seconds": response.transcription_time.ToNanoseconds() / 1e9,
        "model_seconds": response.model_time.ToNanoseconds() / 1e9,
        "model": response.model,
        "warnings": list(response.warnings),
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
        # Named by the gateway's configuration, or only reported by the server.
        "configured": model.configured,
        "listed_by_server": {models_pb2.MODEL_LISTING_REPORTED: True,
                             models_pb2.MODEL_LISTING_NOT_REPORTED: False}.get(model.listing),
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
