{
  "targets": [
    {
      "target_name": "heap",
      "sources": ["heap.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
