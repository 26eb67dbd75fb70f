"""C++ code generation from .proto files with the system protoc and grpc_cpp_plugin."""

def cc_grpc_codegen(name, srcs, grpc = False, import_root = None, deps = [],
                    imports = [], headers_only = False, **kwargs):
    """Generates C++ for srcs into a cc_library named name.

    Args:
      name: name of the cc_library.
      srcs: .proto files, relative to import_root.
      grpc: also generate gRPC services and client mocks (*_mock.grpc.pb.h).
      import_root: directory imports are relative to, as protoc sees it from the
        execution root. Default: this package. For a system repository such as
        @grpc_proto use "external/grpc_proto".
      deps: cc_library targets of imported protos.
      imports: the .proto files those targets compile, which protoc reads.
      headers_only: compile no .cc files, for protos whose code a system library
        already holds (linking both would register the descriptors twice).
      **kwargs: passed to the cc_library (visibility, testonly).
    """
    package = native.package_name()
    root = import_root or package
    outs = []
    for src in srcs:
        stem = src.split(":")[-1][:-len(".proto")]
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc", stem + "_mock.grpc.pb.h"]

    out_dir = "$(GENDIR)/" + package
    grpc_args = ""
    if grpc:
        grpc_args = ("--grpc_out=generate_mock_code=true:%s " % out_dir +
                     "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin ")
    native.genrule(
        name = name + "_codegen",
        srcs = srcs + imports,
        outs = outs,
        cmd = ("protoc -I%s -I/usr/include --cpp_out=%s " % (root, out_dir) +
               grpc_args + " ".join(["$(location %s)" % src for src in srcs])),
        testonly = kwargs.get("testonly", False),
    )
    native.cc_library(
        name = name,
        srcs = [] if headers_only else [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Generated code includes "voxgate/v1/x.pb.h" relative to the import root.
        includes = ["."],
        # Descriptors register from static initialisers that nothing else references;
        # reflection needs them all.
        alwayslink = True,
        deps = deps + ["@system//:grpc"],
        **kwargs
    )
