"""C++ code generation from .proto files with the system protoc and grpc_cpp_plugin."""

def cc_grpc_codegen(name, srcs, grpc = False, visibility = None):
    """Generates C++ for srcs into a cc_library named name.

    Args:
      name: name of the cc_library.
      srcs: .proto files relative to this package, which is the import root.
      grpc: also generate gRPC services and client mocks (*_mock.grpc.pb.h).
      visibility: of the cc_library.
    """
    outs = []
    for src in srcs:
        stem = src[:-len(".proto")]
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc", stem + "_mock.grpc.pb.h"]

    grpc_args = ""
    if grpc:
        grpc_args = ("--grpc_out=generate_mock_code=true:$(GENDIR)/proto " +
                     "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin ")
    native.genrule(
        name = name + "_codegen",
        srcs = srcs,
        outs = outs,
        cmd = ("protoc -Iproto -I/usr/include --cpp_out=$(GENDIR)/proto " + grpc_args +
               " ".join(["$(location %s)" % src for src in srcs])),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Generated code includes "voxgate/v1/x.pb.h" relative to the import root.
        includes = ["."],
        deps = ["@system//:grpc"],
        visibility = visibility,
    )
