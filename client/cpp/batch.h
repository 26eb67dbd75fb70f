#ifndef VOXGATE_CLIENT_CPP_BATCH_H_
#define VOXGATE_CLIENT_CPP_BATCH_H_

#include "client/cpp/cli_args.h"
#include "client/cpp/commands.h"

namespace voxgate::cli {

// `voxgate-cli batch FILE|URL...`: one BatchTranscribe operation, waited for
// with a progress display on stderr; prints each file's transcript or error.
int Batch(Session& session, const Args& args);

}  // namespace voxgate::cli

#endif  // VOXGATE_CLIENT_CPP_BATCH_H_
