# http_server.py - `python3 -m http.server`, with a listen backlog that
# holds a burst of connections.
#
#   python3 http_server.py PORT DIRECTORY
#
# The stdlib's ThreadingHTTPServer (one thread per request) serving files
# from DIRECTORY on 127.0.0.1:PORT, as `python3 -m http.server --bind
# 127.0.0.1 --directory DIRECTORY PORT` does.  The one change: socketserver's
# default backlog of 5 makes the kernel drop most of 1,000 simultaneous
# SYNs, and the clients' SYN retries then take minutes, with or without weft.
import functools
import http.server
import sys


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096


port, directory = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=directory)
with Server(("127.0.0.1", port), handler) as server:
    print(f"serving {directory} on 127.0.0.1:{port}", flush=True)
    server.serve_forever()
