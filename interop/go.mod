module code.cloudfoundry.org/go-loggregator/interop

go 1.26.0

require (
	code.cloudfoundry.org/go-loggregator v0.0.0
	github.com/cloudfoundry/dropsonde v1.1.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	code.cloudfoundry.org/go-diodes v0.0.0-20231113191959-85adc333ee36 // indirect
	github.com/cloudfoundry/sonde-go v0.0.0-20251217143644-d1670a435f2a // indirect
	github.com/nu7hatch/gouuid v0.0.0-20131221200532-179d4d0c4d8d // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)

replace code.cloudfoundry.org/go-loggregator => ../
