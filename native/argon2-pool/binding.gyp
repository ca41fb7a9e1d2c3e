{
  "variables": {
    "argon2_src": "<!(node -p \"require('path').relative(process.cwd(), require('path').join(require('path').dirname(require.resolve('argon2/package.json')), 'argon2'))\")"
  },
  "targets": [
    {
      "target_name": "argon2_pool",
      "sources": [
        "argon2-pool.c",
        "<(argon2_src)/src/argon2.c",
        "<(argon2_src)/src/core.c",
        "<(argon2_src)/src/encoding.c",
        "<(argon2_src)/src/thread.c",
        "<(argon2_src)/src/blake2/blake2b.c"
      ],
      "include_dirs": ["<(argon2_src)/include", "<(argon2_src)/src"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wno-type-limits", "-fvisibility=hidden"],
      "conditions": [
        ["target_arch == 'ia32' or target_arch == 'x64'", {
          "cflags+": ["-msse", "-msse2"],
          "sources+": ["<(argon2_src)/src/opt.c"]
        }, {
          "sources+": ["<(argon2_src)/src/ref.c"]
        }]
      ]
    }
  ]
}
