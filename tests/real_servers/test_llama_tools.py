"""Tool calling end to end through Voxgate against a real llama-server
(started with --jinja and a template whose tool format it enforces)."""

from __future__ import annotations

import json

from test_llama_server import request
from voxgate.v1 import chat_pb2


def tool_request(tool_choice) -> chat_pb2.ChatRequest:
    chat = request("What is the weather in Paris?", temperature=0.0, max_tokens=60)
    chat.tools.append(chat_pb2.Tool(
        name="get_weather", description="Get the weather in a city",
        parameters_json=json.dumps({"type": "object",
                                    "properties": {"city": {"type": "string"}},
                                    "required": ["city"]})))
    chat.tool_choice.CopyFrom(tool_choice)
    chat.model = "tools"
    return chat


def test_tool_call_round_trip(tools_gateway):
    chat = tool_request(chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_REQUIRED))
    first = tools_gateway.stub.Chat(chat, timeout=120)
    assert first.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert len(first.tool_calls) == 1
    call = first.tool_calls[0]
    assert call.name == "get_weather"
    assert call.id
    assert "city" in json.loads(call.arguments)

    # The call and its result go back; the model answers in text (from the
    # plain llama-server: the tool-call one refuses plain text).
    chat.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT,
                                              tool_calls=[call]))
    chat.messages.append(chat_pb2.ChatMessage(
        role=chat_pb2.ROLE_TOOL, tool_call_id=call.id,
        content=[chat_pb2.ContentPart(text="18 degrees and sunny")]))
    chat.model = "text"
    chat.tool_choice.CopyFrom(chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_AUTO))
    second = tools_gateway.stub.Chat(chat, timeout=120)
    assert not second.tool_calls
    assert second.content.strip()
    assert second.finish_reason in (chat_pb2.FINISH_REASON_STOP,
                                    chat_pb2.FINISH_REASON_LENGTH)


def test_tool_call_streams_as_deltas(tools_gateway):
    chat = tool_request(chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_REQUIRED))
    name, arguments, finish = "", "", None
    for chunk in tools_gateway.stub.ChatStream(chat, timeout=120):
        for piece in chunk.tool_calls:
            assert piece.index == 0
            name += piece.name
            arguments += piece.arguments
        if chunk.finish_reason:
            finish = chunk.finish_reason
    assert name == "get_weather"
    assert "city" in json.loads(arguments)
    assert finish == chat_pb2.FINISH_REASON_TOOL_CALLS


