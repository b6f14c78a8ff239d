using System.Security.Cryptography;
using Turn.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Deploy;

/// <summary>
/// The install paths, built and then run: deploy/image/build.sh makes the OCI image and
/// tests/package/image-test.sh runs it with podman; deploy/debian/build.sh makes the .deb and
/// tests/package/deb-test.sh installs it into a fresh Debian root. Both build from one Native AOT
/// publish: the one AOT_PUBLISH_DIR names (tests/run.sh makes it), else a publish of their own.
/// </summary>
public sealed class PackageTests(PackageBuilds builds, ITestOutputHelper output) : IClassFixture<PackageBuilds>
{
    [Fact]
    public async Task Image_RunAsAContainer_AnswersStunAndHealth_AndRelaysUdpAndTcp()
    {
        string archive = await builds.Image();
        Assert.Matches(@"turn-\d+\.\d+\.\d+\.oci\.tar$", archive);

        await RunChecks("image-test", archive, TimeSpan.FromMinutes(4));
    }

    [Fact]
    public async Task DebianPackage_InstallsIntoACleanRoot_RunsThere_AndPassesLintian()
    {
        string deb = await builds.DebianPackage();
        Assert.Matches(@"turn_\d+\.\d+\.\d+-1_amd64\.deb$", deb);

        await RunChecks("deb-test", deb, TimeSpan.FromMinutes(6));
    }

    [Fact]
    public async Task Image_BuiltTwiceFromOneCommit_HasTheSameManifestDigest()
    {
        string first = await builds.Image();
        using var directory = new TempDirectory();

        string second = await builds.Build("image", directory.Path);

        Assert.Equal(await ManifestDigest(first), await ManifestDigest(second));
    }

    [Fact]
    public async Task DebianPackage_BuiltTwiceFromOneCommit_IsTheSameBytes()
    {
        string first = await builds.DebianPackage();
        using var directory = new TempDirectory();

        string second = await builds.Build("debian", directory.Path);

        Assert.Equal(Path.GetFileName(first), Path.GetFileName(second));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(first))), Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(second))));
    }

    /// <summary>Runs tests/package/SCRIPT.sh on the artifact: every check it prints must pass.</summary>
    private async Task RunChecks(string script, string artifact, TimeSpan timeout)
    {
        ToolResult test = await ToolRunner.RunAsync(Repository.PathOf("tests", "package", script + ".sh"), [artifact], timeout);

        output.WriteLine(test.ToString());
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.Matches(script + @": \d+ passed, 0 failed", test.StandardOutput);
    }

    private static async Task<string> ManifestDigest(string archive)
    {
        ToolResult inspect = await ToolRunner.RunAsync("skopeo", ["inspect", "--format", "{{.Digest}}", "oci-archive:" + archive], TimeSpan.FromSeconds(60));
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.StartsWith("sha256:", inspect.StandardOutput.Trim(), StringComparison.Ordinal);
        return inspect.StandardOutput.Trim();
    }
}

/// <summary>One Native AOT publish, one image and one package for the class, in a temporary directory.</summary>
public sealed class PackageBuilds : IAsyncLifetime
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(6);

    private readonly string directory = Directory.CreateTempSubdirectory("turn-package-").FullName;

    private string aot = "";

    private string? image;

    private string? debianPackage;

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "building and running the image and the package needs root (mmdebstrap --mode=root, podman, chroot)");
        foreach (string tool in new[] { "mmdebstrap", "umoci", "skopeo", "podman", "runc", "dpkg-deb", "dpkg-shlibdeps", "lintian", "objcopy", "zstd", "curl", "ip" })
        {
            Assert.True(ToolRunner.Find(tool) is not null, $"{tool} is missing (tests/run.sh installs it)");
        }

        if (Environment.GetEnvironmentVariable("AOT_PUBLISH_DIR") is { Length: > 0 } given)
        {
            aot = given;
        }
        else
        {
            aot = Path.Combine(directory, "aot");
            ToolResult publish = await ToolRunner.RunAsync(
                "dotnet",
                ["publish", Repository.PathOf("src", "Turn"), "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "--nologo", "-v", "q", "-o", aot],
                BuildTimeout);
            Assert.True(publish.ExitCode == 0, publish.ToString());
        }

        Assert.True(File.Exists(Path.Combine(aot, "turn")), $"no Native AOT executable in {aot}");
    }

    internal async Task<string> Image() => image ??= await BuildOnce("image");

    internal async Task<string> DebianPackage() => debianPackage ??= await BuildOnce("debian");

    /// <summary>Runs deploy/KIND/build.sh on the publish, writing into <paramref name="outDirectory"/>; returns the artifact it made.</summary>
    internal async Task<string> Build(string kind, string outDirectory)
    {
        ToolResult build = await ToolRunner.RunAsync(Repository.PathOf("deploy", kind, "build.sh"), ["--aot", aot, "--out", outDirectory], BuildTimeout);
        Assert.True(build.ExitCode == 0, build.ToString());
        string artifact = build.StandardOutput.Trim().Split('\n')[^1];
        Assert.True(File.Exists(artifact), build.ToString());
        return artifact;
    }

    // xUnit runs one class's tests one after another: no two builds of a kind at once.
    private Task<string> BuildOnce(string kind) => Build(kind, Path.Combine(directory, kind));

    public Task DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }
}
