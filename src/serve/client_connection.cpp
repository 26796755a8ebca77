// ClientConnection: the request's socket found among /proc/self/fd by address, and a peek at it.
#include "serve/client_connection.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>
#include <string>

namespace moe::serve {

namespace {

// Numeric host and port of an address, as httplib writes a request's remote_addr and port.
bool host_and_port(const sockaddr_storage& address, socklen_t length, std::string& host, int& port) {
  char host_text[NI_MAXHOST], port_text[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host_text, sizeof host_text, port_text,
                  sizeof port_text, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  host = host_text;
  port = std::stoi(port_text);
  return true;
}

bool matches(int fd, const httplib::Request& request) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  std::string host;
  int port = 0;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      !host_and_port(address, length, host, port) || host != request.remote_addr || port != request.remote_port)
    return false;
  length = sizeof address;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
         host_and_port(address, length, host, port) && host == request.local_addr && port == request.local_port;
}

}  // namespace

ClientConnection::ClientConnection(const httplib::Request& request) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    if (matches(fd, request)) {
      fd_ = fd;
      return;
    }
  }
}

bool ClientConnection::closed() const {
  if (fd_ < 0) return false;
  char byte;
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace moe::serve
