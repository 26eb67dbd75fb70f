#ifndef VOXGATE_TESTS_FREE_PORT_H_
#define VOXGATE_TESTS_FREE_PORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voxgate::testing {

// A loopback TCP port free a moment ago, for programs that cannot be told to
// listen on port 0 and report the port (Prometheus, a gateway whose log level
// hides its "serving" line). Another process may take it meanwhile; tests
// accept that small race.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_FREE_PORT_H_
