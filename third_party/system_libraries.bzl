"""A repository of cc_library targets wrapping Debian's system libraries.

Each target takes its link flags, defines and include directories from pkg-config,
so the build follows whatever the installed -dev packages declare.
"""

# Directories the compiler searches anyway; pkg-config sometimes repeats them.
_DEFAULT_INCLUDE_DIRS = ["/usr/include", "/usr/include/x86_64-linux-gnu"]

def _pkg_config(ctx, flag, modules):
    result = ctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run scripts/setup.sh): %s" %
             (flag, " ".join(modules), result.stderr))
    return result.stdout.strip().split(" ") if result.stdout.strip() else []

def _library_stanza(ctx, name, modules):
    defines = []
    includes = []
    for flag in _pkg_config(ctx, "--cflags", modules):
        if flag.startswith("-D"):
            defines.append(flag[2:])
        elif flag.startswith("-I") and flag[2:] not in _DEFAULT_INCLUDE_DIRS:
            # cc_library.includes must lie inside the repository: link the directory in.
            local = "include/%s/%d" % (name, len(includes))
            ctx.symlink(flag[2:], local)
            includes.append(local)
    linkopts = _pkg_config(ctx, "--libs", modules)
    extra = ctx.attr.extra_linkopts.get(name, "")
    if extra:
        linkopts = linkopts + extra.split(" ")
    return """
cc_library(
    name = "{name}",
    hdrs = glob([{hdr_globs}]),
    defines = {defines},
    includes = {includes},
    linkopts = {linkopts},
)
""".format(
        name = name,
        hdr_globs = ", ".join(['"%s/**/*.h"' % d for d in includes]),
        defines = repr(defines),
        includes = repr(includes),
        linkopts = repr(linkopts),
    )

def _system_libraries_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])\n']
    for name, modules in ctx.attr.libraries.items():
        build.append(_library_stanza(ctx, name, modules))
    for name, opts in ctx.attr.linkopt_only.items():
        build.append('cc_library(name = "%s", linkopts = %s)\n' % (name, repr(opts)))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "".join(build))

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {
        "libraries": attr.string_list_dict(
            doc = "Target name to the pkg-config modules it wraps.",
        ),
        "extra_linkopts": attr.string_dict(
            doc = "Target name to link flags appended after pkg-config's.",
        ),
        "linkopt_only": attr.string_list_dict(
            doc = "Libraries without a .pc file: target name to link flags.",
        ),
    },
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
