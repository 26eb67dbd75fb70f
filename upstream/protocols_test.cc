#include "upstream/protocols.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace voxgate::upstream {
namespace {

// A protocol added to config.proto without an entry here would be refused
// by validation as "required": the registry must know every value.
TEST(ProtocolsTest, EveryProtocolOfTheConfigHasOneEntry) {
  const google::protobuf::EnumDescriptor* protocols =
      config::v1::Protocol_descriptor();
  std::set<std::string> names;
  for (int i = 0; i < protocols->value_count(); ++i) {
    const auto protocol =
        static_cast<config::v1::Protocol>(protocols->value(i)->number());
    if (protocol == config::v1::PROTOCOL_UNSPECIFIED) {
      EXPECT_EQ(FindProtocol(protocol), nullptr);
      continue;
    }
    const ProtocolInfo* info = FindProtocol(protocol);
    ASSERT_NE(info, nullptr) << protocols->value(i)->name();
    // The config file's spelling is the enum's, lower case, without prefix.
    std::string expected =
        protocols->value(i)->name().substr(std::string("PROTOCOL_").size());
    for (char& c : expected) c = static_cast<char>(std::tolower(c));
    EXPECT_EQ(info->name, expected);
    names.insert(info->name);
  }
  EXPECT_EQ(names.size(), AllProtocols().size());
}

TEST(ProtocolsTest, EveryProtocolServesSomething) {
  for (const ProtocolInfo& info : AllProtocols()) {
    EXPECT_TRUE(info.transcribes || info.text_chat || info.audio_chat)
        << info.name;
    // Only an in-process engine goes without endpoints, and it speaks no
    // HTTP dialect.
    EXPECT_EQ(info.has_endpoints, info.dialect != OpenAiDialect::kNone)
        << info.name;
  }
}

}  // namespace
}  // namespace voxgate::upstream
