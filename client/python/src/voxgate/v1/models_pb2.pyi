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

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_TRANSCRIBE: _ClassVar[Capability]
    CAPABILITY_TRANSLATE: _ClassVar[Capability]
    CAPABILITY_AUDIO_CHAT: _ClassVar[Capability]
    CAPABILITY_TEXT_CHAT: _ClassVar[Capability]
    CAPABILITY_STREAMING_INPUT: _ClassVar[Capability]
    CAPABILITY_WORD_TIMESTAMPS: _ClassVar[Capability]
    CAPABILITY_SEGMENT_TIMESTAMPS: _ClassVar[Capability]
    CAPABILITY_LANGUAGE_DETECTION: _ClassVar[Capability]

class ModelListing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_LISTING_UNSPECIFIED: _ClassVar[ModelListing]
    MODEL_LISTING_REPORTED: _ClassVar[ModelListing]
    MODEL_LISTING_NOT_REPORTED: _ClassVar[ModelListing]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_TRANSCRIBE: Capability
CAPABILITY_TRANSLATE: Capability
CAPABILITY_AUDIO_CHAT: Capability
CAPABILITY_TEXT_CHAT: Capability
CAPABILITY_STREAMING_INPUT: Capability
CAPABILITY_WORD_TIMESTAMPS: Capability
CAPABILITY_SEGMENT_TIMESTAMPS: Capability
CAPABILITY_LANGUAGE_DETECTION: Capability
MODEL_LISTING_UNSPECIFIED: ModelListing
MODEL_LISTING_REPORTED: ModelListing
MODEL_LISTING_NOT_REPORTED: ModelListing

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "pool", "protocol", "capabilities", "languages", "max_audio_bytes", "max_audio_duration", "accepted_encodings", "available", "configured", "listing")
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool: str
    protocol: str
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    languages: _containers.RepeatedScalarFieldContainer[str]
    max_audio_bytes: int
    max_audio_duration: _duration_pb2.Duration
    accepted_encodings: _containers.RepeatedScalarFieldContainer[_audio_pb2.AudioEncoding]
    available: bool
    configured: bool
    listing: ModelListing
    def __init__(self, id: _Optional[str] = ..., pool: _Optional[str] = ..., protocol: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., languages: _Optional[_Iterable[str]] = ..., max_audio_bytes: _Optional[int] = ..., max_audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., accepted_encodings: _Optional[_Iterable[_Union[_audio_pb2.AudioEncoding, str]]] = ..., available: _Optional[bool] = ..., configured: _Optional[bool] = ..., listing: _Optional[_Union[ModelListing, str]] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...
