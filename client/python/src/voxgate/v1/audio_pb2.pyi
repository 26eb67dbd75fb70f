import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_AUTO: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_LINEAR16: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_WAV: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_MP3: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_FLAC: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_OGG_OPUS: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_WEBM_OPUS: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_M4A_AAC: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_MULAW: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_ALAW: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_OGG_VORBIS: _ClassVar[AudioEncoding]

class Task(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_UNSPECIFIED: _ClassVar[Task]
    TASK_TRANSCRIBE: _ClassVar[Task]
    TASK_TRANSLATE: _ClassVar[Task]

class OutputFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_FORMAT_UNSPECIFIED: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_TEXT: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_SEGMENTS: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_SRT: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_VTT: _ClassVar[OutputFormat]
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
AUDIO_ENCODING_AUTO: AudioEncoding
AUDIO_ENCODING_LINEAR16: AudioEncoding
AUDIO_ENCODING_WAV: AudioEncoding
AUDIO_ENCODING_MP3: AudioEncoding
AUDIO_ENCODING_FLAC: AudioEncoding
AUDIO_ENCODING_OGG_OPUS: AudioEncoding
AUDIO_ENCODING_WEBM_OPUS: AudioEncoding
AUDIO_ENCODING_M4A_AAC: AudioEncoding
AUDIO_ENCODING_MULAW: AudioEncoding
AUDIO_ENCODING_ALAW: AudioEncoding
AUDIO_ENCODING_OGG_VORBIS: AudioEncoding
TASK_UNSPECIFIED: Task
TASK_TRANSCRIBE: Task
TASK_TRANSLATE: Task
OUTPUT_FORMAT_UNSPECIFIED: OutputFormat
OUTPUT_FORMAT_TEXT: OutputFormat
OUTPUT_FORMAT_SEGMENTS: OutputFormat
OUTPUT_FORMAT_SRT: OutputFormat
OUTPUT_FORMAT_VTT: OutputFormat

class AudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rate_hertz", "channel_count")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    encoding: AudioEncoding
    sample_rate_hertz: int
    channel_count: int
    def __init__(self, encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate_hertz: _Optional[int] = ..., channel_count: _Optional[int] = ...) -> None: ...

class AudioInput(_message.Message):
    __slots__ = ("content", "format", "uri")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: AudioFormat
    uri: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[AudioFormat, _Mapping]] = ..., uri: _Optional[str] = ...) -> None: ...

class PhraseHint(_message.Message):
    __slots__ = ("phrase", "boost")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    BOOST_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    boost: float
    def __init__(self, phrase: _Optional[str] = ..., boost: _Optional[float] = ...) -> None: ...

class ChunkingConfig(_message.Message):
    __slots__ = ("max_chunk_seconds", "overlap_seconds", "split_on_silence")
    MAX_CHUNK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_ON_SILENCE_FIELD_NUMBER: _ClassVar[int]
    max_chunk_seconds: float
    overlap_seconds: float
    split_on_silence: bool
    def __init__(self, max_chunk_seconds: _Optional[float] = ..., overlap_seconds: _Optional[float] = ..., split_on_silence: _Optional[bool] = ...) -> None: ...

class PreprocessingConfig(_message.Message):
    __slots__ = ("target_sample_rate_hertz", "target_channel_count", "normalize_loudness", "target_loudness_lufs")
    TARGET_SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_LOUDNESS_FIELD_NUMBER: _ClassVar[int]
    TARGET_LOUDNESS_LUFS_FIELD_NUMBER: _ClassVar[int]
    target_sample_rate_hertz: int
    target_channel_count: int
    normalize_loudness: bool
    target_loudness_lufs: float
    def __init__(self, target_sample_rate_hertz: _Optional[int] = ..., target_channel_count: _Optional[int] = ..., normalize_loudness: _Optional[bool] = ..., target_loudness_lufs: _Optional[float] = ...) -> None: ...

class RecognitionConfig(_message.Message):
    __slots__ = ("model", "language_codes", "prompt", "phrase_hints", "temperature", "task", "target_language", "enable_word_timestamps", "enable_segment_timestamps", "enable_word_confidence", "chunking", "preprocessing", "output_formats", "backend_options")
    class BackendOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PHRASE_HINTS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_WORD_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SEGMENT_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_WORD_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_FIELD_NUMBER: _ClassVar[int]
    PREPROCESSING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMATS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    language_codes: _containers.RepeatedScalarFieldContainer[str]
    prompt: str
    phrase_hints: _containers.RepeatedCompositeFieldContainer[PhraseHint]
    temperature: float
    task: Task
    target_language: str
    enable_word_timestamps: bool
    enable_segment_timestamps: bool
    enable_word_confidence: bool
    chunking: ChunkingConfig
    preprocessing: PreprocessingConfig
    output_formats: _containers.RepeatedScalarFieldContainer[OutputFormat]
    backend_options: _containers.ScalarMap[str, str]
    def __init__(self, model: _Optional[str] = ..., language_codes: _Optional[_Iterable[str]] = ..., prompt: _Optional[str] = ..., phrase_hints: _Optional[_Iterable[_Union[PhraseHint, _Mapping]]] = ..., temperature: _Optional[float] = ..., task: _Optional[_Union[Task, str]] = ..., target_language: _Optional[str] = ..., enable_word_timestamps: _Optional[bool] = ..., enable_segment_timestamps: _Optional[bool] = ..., enable_word_confidence: _Optional[bool] = ..., chunking: _Optional[_Union[ChunkingConfig, _Mapping]] = ..., preprocessing: _Optional[_Union[PreprocessingConfig, _Mapping]] = ..., output_formats: _Optional[_Iterable[_Union[OutputFormat, str]]] = ..., backend_options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("audio_seconds", "input_tokens", "audio_tokens", "output_tokens", "total_tokens")
    AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    audio_seconds: float
    input_tokens: int
    audio_tokens: int
    output_tokens: int
    total_tokens: int
    def __init__(self, audio_seconds: _Optional[float] = ..., input_tokens: _Optional[int] = ..., audio_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ...) -> None: ...

class WordInfo(_message.Message):
    __slots__ = ("word", "start_offset", "end_offset", "confidence")
    WORD_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    word: str
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    confidence: float
    def __init__(self, word: _Optional[str] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., confidence: _Optional[float] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("id", "start_offset", "end_offset", "text", "words", "avg_logprob", "no_speech_prob")
    ID_FIELD_NUMBER: _ClassVar[int]
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    AVG_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    NO_SPEECH_PROB_FIELD_NUMBER: _ClassVar[int]
    id: int
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    text: str
    words: _containers.RepeatedCompositeFieldContainer[WordInfo]
    avg_logprob: float
    no_speech_prob: float
    def __init__(self, id: _Optional[int] = ..., start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., text: _Optional[str] = ..., words: _Optional[_Iterable[_Union[WordInfo, _Mapping]]] = ..., avg_logprob: _Optional[float] = ..., no_speech_prob: _Optional[float] = ...) -> None: ...
