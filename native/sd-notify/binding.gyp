{
  "targets": [
    {
      "target_name": "sd_notify",
      "sources": ["sd-notify.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
