{
  "targets": [
    {
      "target_name": "portico_native",
      "sources": [
        "src/addon.cc",
        "src/address.cc",
        "src/errors.cc",
        "src/icmp6_socket.cc",
        "src/packet_socket.cc",
        "src/tcp.cc",
        "src/udp_socket.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra"]
    }
  ]
}
