import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from voxgate.v1 import audio_pb2 as _audio_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_CONTROL_UNSPECIFIED: _ClassVar[StreamControl]
    STREAM_CONTROL_FINALIZE_UTTERANCE: _ClassVar[StreamControl]
STREAM_CONTROL_UNSPECIFIED: StreamControl
STREAM_CONTROL_FINALIZE_UTTERANCE: StreamControl

class EndpointingConfig(_message.Message):
    __slots__ = ("trailing_silence", "max_utterance", "speech_start_timeout")
    TRAILING_SILENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_UTTERANCE_FIELD_NUMBER: _ClassVar[int]
    SPEECH_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    trailing_silence: _duration_pb2.Duration
    max_utterance: _duration_pb2.Duration
    speech_start_timeout: _duration_pb2.Duration
    def __init__(self, trailing_silence: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_utterance: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., speech_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StreamTranscribeConfig(_message.Message):
    __slots__ = ("format", "recognition", "interim_results", "interim_interval", "endpointing", "single_utterance", "enable_speech_events")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECOGNITION_FIELD_NUMBER: _ClassVar[int]
    INTERIM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    INTERIM_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTING_FIELD_NUMBER: _ClassVar[int]
    SINGLE_UTTERANCE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SPEECH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    format: _audio_pb2.AudioFormat
    recognition: _audio_pb2.RecognitionConfig
    interim_results: bool
    interim_interval: _duration_pb2.Duration
    endpointing: EndpointingConfig
    single_utterance: bool
    enable_speech_events: bool
    def __init__(self, format: _Optional[_Union[_audio_pb2.AudioFormat, _Mapping]] = ..., recognition: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ..., interim_results: _Optional[bool] = ..., interim_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., endpointing: _Optional[_Union[EndpointingConfig, _Mapping]] = ..., single_utterance: _Optional[bool] = ..., enable_speech_events: _Optional[bool] = ...) -> None: ...

class StreamTranscribeRequest(_message.Message):
    __slots__ = ("config", "audio", "control")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    config: StreamTranscribeConfig
    audio: bytes
    control: StreamControl
    def __init__(self, config: _Optional[_Union[StreamTranscribeConfig, _Mapping]] = ..., audio: _Optional[bytes] = ..., control: _Optional[_Union[StreamControl, str]] = ...) -> None: ...

class SpeechEvent(_message.Message):
    __slots__ = ("type", "offset")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[SpeechEvent.Type]
        TYPE_SPEECH_BEGIN: _ClassVar[SpeechEvent.Type]
        TYPE_END_OF_UTTERANCE: _ClassVar[SpeechEvent.Type]
        TYPE_SPEECH_START_TIMEOUT: _ClassVar[SpeechEvent.Type]
    TYPE_UNSPECIFIED: SpeechEvent.Type
    TYPE_SPEECH_BEGIN: SpeechEvent.Type
    TYPE_END_OF_UTTERANCE: SpeechEvent.Type
    TYPE_SPEECH_START_TIMEOUT: SpeechEvent.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    type: SpeechEvent.Type
    offset: _duration_pb2.Duration
    def __init__(self, type: _Optional[_Union[SpeechEvent.Type, str]] = ..., offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StreamResult(_message.Message):
    __slots__ = ("text", "is_final", "stability", "start_offset", "end_offset", "words", "utterance_index", "language_code")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    STABILITY_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    UTTERANCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    text: str
    is_final: bool
    stability: float
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    words: _containers.RepeatedCompositeFieldContainer[_audio_pb2.WordInfo]
    utterance_index: int
    language_code: str
    def __init__(self, text: _Optional[str] = ..., is_final: _Optional[bool] = ..., stability: _Optional[float] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., words: _Optional[_Iterable[_Union[_audio_pb2.WordInfo, _Mapping]]] = ..., utterance_index: _Optional[int] = ..., language_code: _Optional[str] = ...) -> None: ...

class StreamTranscribeResponse(_message.Message):
    __slots__ = ("result", "event", "audio_processed", "warnings", "request_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    result: StreamResult
    event: SpeechEvent
    audio_processed: _duration_pb2.Duration
    warnings: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, result: _Optional[_Union[StreamResult, _Mapping]] = ..., event: _Optional[_Union[SpeechEvent, _Mapping]] = ..., audio_processed: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...
