import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from voxgate.v1 import audio_pb2 as _audio_pb2
from voxgate.v1 import transcribe_pb2 as _transcribe_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchFileState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_FILE_STATE_UNSPECIFIED: _ClassVar[BatchFileState]
    BATCH_FILE_STATE_PENDING: _ClassVar[BatchFileState]
    BATCH_FILE_STATE_RUNNING: _ClassVar[BatchFileState]
    BATCH_FILE_STATE_SUCCEEDED: _ClassVar[BatchFileState]
    BATCH_FILE_STATE_FAILED: _ClassVar[BatchFileState]
BATCH_FILE_STATE_UNSPECIFIED: BatchFileState
BATCH_FILE_STATE_PENDING: BatchFileState
BATCH_FILE_STATE_RUNNING: BatchFileState
BATCH_FILE_STATE_SUCCEEDED: BatchFileState
BATCH_FILE_STATE_FAILED: BatchFileState

class BatchFile(_message.Message):
    __slots__ = ("id", "audio", "config")
    ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    id: str
    audio: _audio_pb2.AudioInput
    config: _audio_pb2.RecognitionConfig
    def __init__(self, id: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioInput, _Mapping]] = ..., config: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ...) -> None: ...

class BatchTranscribeRequest(_message.Message):
    __slots__ = ("files", "config")
    FILES_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[BatchFile]
    config: _audio_pb2.RecognitionConfig
    def __init__(self, files: _Optional[_Iterable[_Union[BatchFile, _Mapping]]] = ..., config: _Optional[_Union[_audio_pb2.RecognitionConfig, _Mapping]] = ...) -> None: ...

class BatchFileStatus(_message.Message):
    __slots__ = ("id", "state", "audio_seconds", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: BatchFileState
    audio_seconds: float
    error: _status_pb2.Status
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[BatchFileState, str]] = ..., audio_seconds: _Optional[float] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class BatchTranscribeMetadata(_message.Message):
    __slots__ = ("files_total", "files_done", "files_failed", "audio_seconds_done", "files", "create_time", "update_time", "expire_time")
    FILES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FILES_DONE_FIELD_NUMBER: _ClassVar[int]
    FILES_FAILED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SECONDS_DONE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    files_total: int
    files_done: int
    files_failed: int
    audio_seconds_done: float
    files: _containers.RepeatedCompositeFieldContainer[BatchFileStatus]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, files_total: _Optional[int] = ..., files_done: _Optional[int] = ..., files_failed: _Optional[int] = ..., audio_seconds_done: _Optional[float] = ..., files: _Optional[_Iterable[_Union[BatchFileStatus, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchFileResult(_message.Message):
    __slots__ = ("id", "result", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: _transcribe_pb2.TranscribeResponse
    error: _status_pb2.Status
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[_transcribe_pb2.TranscribeResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class BatchTranscribeResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchFileResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchFileResult, _Mapping]]] = ...) -> None: ...
