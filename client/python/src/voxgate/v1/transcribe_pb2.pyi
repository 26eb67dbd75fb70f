import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from voxgate.v1 import audio_pb2 as _audio_pb2
from voxgate.v1 import chat_pb2 as _chat_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnalyzeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANALYZE_MODE_UNSPECIFIED: _ClassVar[AnalyzeMode]
    ANALYZE_MODE_DIRECT: _ClassVar[AnalyzeMode]
    ANALYZE_MODE_CASCADE: _ClassVar[AnalyzeMode]
ANALYZE_MODE_UNSPECIFIED: AnalyzeMode
ANALYZE_MODE_DIRECT: AnalyzeMode
ANALYZE_MODE_CASCADE: AnalyzeMode

class TranscribeRequest(_message.Message):
    __slots__ = ("audio", "config")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    audio: _audio_pb2.AudioInput
    config: _audio_pb2.RecognitionConfig
    def __init__(self, audio: _Optional[_Union[_audio_pb2.AudioInput, _Mapping]] = ..., config: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ...) -> None: ...

class TranscribeResponse(_message.Message):
    __slots__ = ("text", "segments", "language_code", "audio_duration", "srt", "vtt", "usage", "model", "backend", "request_id", "warnings")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    SRT_FIELD_NUMBER: _ClassVar[int]
    VTT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    text: str
    segments: _containers.RepeatedCompositeFieldContainer[_audio_pb2.Segment]
    language_code: str
    audio_duration: _duration_pb2.Duration
    srt: str
    vtt: str
    usage: _audio_pb2.Usage
    model: str
    backend: str
    request_id: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[_audio_pb2.Segment, _Mapping]]] = ..., language_code: _Optional[str] = ..., audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., srt: _Optional[str] = ..., vtt: _Optional[str] = ..., usage: _Optional[_Union[_audio_pb2.Usage, _Mapping]] = ..., model: _Optional[str] = ..., backend: _Optional[str] = ..., request_id: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("audio", "instruction", "system_prompt", "mode", "model", "recognition", "generation", "include_transcript", "history", "tools", "tool_choice")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RECOGNITION_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    audio: _audio_pb2.AudioInput
    instruction: str
    system_prompt: str
    mode: AnalyzeMode
    model: str
    recognition: _audio_pb2.RecognitionConfig
    generation: _chat_pb2.GenerationConfig
    include_transcript: bool
    history: _containers.RepeatedCompositeFieldContainer[_chat_pb2.ChatMessage]
    tools: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Tool]
    tool_choice: _chat_pb2.ToolChoice
    def __init__(self, audio: _Optional[_Union[_audio_pb2.AudioInput, _Mapping]] = ..., instruction: _Optional[str] = ..., system_prompt: _Optional[str] = ..., mode: _Optional[_Union[AnalyzeMode, str]] = ..., model: _Optional[str] = ..., recognition: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ..., generation: _Optional[_Union[_chat_pb2.GenerationConfig, _Mapping]] = ..., include_transcript: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[_chat_pb2.ChatMessage, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[_chat_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_chat_pb2.ToolChoice, _Mapping]] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("answer", "transcript", "finish_reason", "usage", "model", "request_id", "mode", "warnings", "tool_calls", "transcription_time", "model_time")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPTION_TIME_FIELD_NUMBER: _ClassVar[int]
    MODEL_TIME_FIELD_NUMBER: _ClassVar[int]
    answer: str
    transcript: str
    finish_reason: _chat_pb2.FinishReason
    usage: _audio_pb2.Usage
    model: str
    request_id: str
    mode: AnalyzeMode
    warnings: _containers.RepeatedScalarFieldContainer[str]
    tool_calls: _containers.RepeatedCompositeFieldContainer[_chat_pb2.ToolCall]
    transcription_time: _duration_pb2.Duration
    model_time: _duration_pb2.Duration
    def __init__(self, answer: _Optional[str] = ..., transcript: _Optional[str] = ..., finish_reason: _Optional[_Union[_chat_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_audio_pb2.Usage, _Mapping]] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ..., mode: _Optional[_Union[AnalyzeMode, str]] = ..., warnings: _Optional[_Iterable[str]] = ..., tool_calls: _Optional[_Iterable[_Union[_chat_pb2.ToolCall, _Mapping]]] = ..., transcription_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., model_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TranscribeUploadConfig(_message.Message):
    __slots__ = ("config", "format", "total_bytes")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    config: _audio_pb2.RecognitionConfig
    format: _audio_pb2.AudioFormat
    total_bytes: int
    def __init__(self, config: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ..., format: _Optional[_Union[_audio_pb2.AudioFormat, _Mapping]] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class TranscribeUploadRequest(_message.Message):
    __slots__ = ("config", "audio_content")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CONTENT_FIELD_NUMBER: _ClassVar[int]
    config: TranscribeUploadConfig
    audio_content: bytes
    def __init__(self, config: _Optional[_Union[TranscribeUploadConfig, _Mapping]] = ..., audio_content: _Optional[bytes] = ...) -> None: ...

class UploadProgress(_message.Message):
    __slots__ = ("bytes_received", "audio_decoded", "audio_transcribed", "chunks_cut", "chunks_done")
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DECODED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TRANSCRIBED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_CUT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_DONE_FIELD_NUMBER: _ClassVar[int]
    bytes_received: int
    audio_decoded: _duration_pb2.Duration
    audio_transcribed: _duration_pb2.Duration
    chunks_cut: int
    chunks_done: int
    def __init__(self, bytes_received: _Optional[int] = ..., audio_decoded: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., audio_transcribed: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., chunks_cut: _Optional[int] = ..., chunks_done: _Optional[int] = ...) -> None: ...

class TranscribeUploadResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: UploadProgress
    result: TranscribeResponse
    def __init__(self, progress: _Optional[_Union[UploadProgress, _Mapping]] = ..., result: _Optional[_Union[TranscribeResponse, _Mapping]] = ...) -> None: ...
