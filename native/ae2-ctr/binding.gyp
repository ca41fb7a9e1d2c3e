{
  "targets": [
    {
      "target_name": "ae2ctr",
      "sources": ["ae2ctr.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
