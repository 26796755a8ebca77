// ClientConnection: whether the client of a request still holds its connection open, so that the
// request of a client that left is cancelled. cpp-httplib 0.11.4 (Debian 12) gives a handler no
// access to its socket (is_connection_closed came in later versions), so the socket is found once
// by its addresses: the open TCP socket of this process whose peer and local address and port are
// the request's (unique while the handler runs, since httplib closes it only afterwards).
#pragma once

#include <httplib.h>

namespace moe::serve {

class ClientConnection {
 public:
  explicit ClientConnection(const httplib::Request& request);
  // True once the client closed or reset the connection (a non-blocking peek reads its end);
  // false while it is open, or when the socket was not found.
  bool closed() const;

 private:
  int fd_ = -1;  // owned by httplib
};

}  // namespace moe::serve
