{
  "targets": [
    {
      "target_name": "adapterkit_native",
      "sources": ["addon.cc"],
      "cflags_cc": ["-O3", "-fno-trapping-math", "-std=c++17", "-fvisibility=hidden"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["<!(node -p \"process.env.OPENBLAS_STATIC || '-lopenblas'\")", "-lpthread", "-Wl,--exclude-libs,ALL"]
        }],
        ["OS=='mac'", {
          "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" },
          "libraries": ["-lopenblas"]
        }]
      ]
    }
  ]
}
