import BluejaySidecar

BluejaySidecarCommand.main()
