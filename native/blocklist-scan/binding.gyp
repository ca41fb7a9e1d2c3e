{
  "targets": [
    {
      "target_name": "blocklistscan",
      "sources": ["blocklistscan.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
