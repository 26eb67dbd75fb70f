from google.longrunning import operations_pb2 as _operations_pb2
from voxgate.v1 import batch_pb2 as _batch_pb2
from voxgate.v1 import chat_pb2 as _chat_pb2
from voxgate.v1 import models_pb2 as _models_pb2
from voxgate.v1 import stream_pb2 as _stream_pb2
from voxgate.v1 import transcribe_pb2 as _transcribe_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
