using Turn.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Deploy;

/// <summary>
/// The Helm chart in deploy/helm/turn, rendered without Helm: tests/helm/render (Go's text/template
/// with sprig, as Helm renders) for every values file in tests/helm/values, then yamllint and
/// tests/helm/validate.mjs (every object against its Kubernetes schema, and the chart's promises
/// against the values) on the output.
/// </summary>
public sealed class HelmChartTests(HelmRenderer renderer, ITestOutputHelper output) : IClassFixture<HelmRenderer>
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> ValuesFiles() => Files("values");

    public static TheoryData<string> InvalidValuesFiles() => Files("invalid");

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Chart_RendersForValues_AndEveryManifestValidates(string valuesFile)
    {
        using var directory = new TempDirectory();
        string rendered = directory.PathOf("rendered.yaml");
        string notes = directory.PathOf("NOTES.txt");

        ToolResult render = await renderer.Render(valuesFile, "-o", rendered, "--notes", notes);
        output.WriteLine(render.ToString());
        Assert.True(render.ExitCode == 0, render.ToString());
        Assert.True(File.Exists(rendered), render.ToString());
        Assert.Contains("# Source: turn/templates/", await File.ReadAllTextAsync(rendered), StringComparison.Ordinal);
        string notesText = await File.ReadAllTextAsync(notes);
        Assert.Contains("turn drain --wait", notesText, StringComparison.Ordinal);
        Assert.DoesNotContain("<no value>", notesText, StringComparison.Ordinal);

        ToolResult lint = await ToolRunner.RunAsync(HelmPrerequisites.YamlLint, ["-c", HelmPrerequisites.PathOf("yamllint.yaml"), "-f", "parsable", "--strict", rendered], ToolTimeout);
        Assert.True(lint.ExitCode == 0, lint + "\n--- rendered ---\n" + await File.ReadAllTextAsync(rendered));

        ToolResult validate = await ToolRunner.RunAsync(
            HelmPrerequisites.Node,
            [HelmPrerequisites.PathOf("validate.mjs"), "--chart", HelmPrerequisites.ChartDirectory, "--values", HelmPrerequisites.PathOf("values", valuesFile), rendered],
            ToolTimeout);
        output.WriteLine(validate.ToString());
        Assert.True(validate.ExitCode == 0, validate + "\n--- rendered ---\n" + await File.ReadAllTextAsync(rendered));
        Assert.Contains("0 problem(s)", validate.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad-kind.yaml", "kind must be DaemonSet or Deployment, not \"StatefulSet\"")]
    [InlineData("empty-realm.yaml", "realm is required")]
    [InlineData("tls-without-secret.yaml", "tls.secretName is required when tls.enabled is true")]
    [InlineData("reversed-relay-range.yaml", "relay.minPort (50000) and relay.maxPort (49999) must be a range")]
    [InlineData("short-grace-period.yaml", "terminationGracePeriodSeconds (60) must be longer than drain.deadlineSeconds (3600)")]
    [InlineData("short-auth-secret.yaml", "each shared secret must be at least 16 characters")]
    [InlineData("short-join-token-secret.yaml", "auth.joinTokenSecret must be at least 32 characters")]
    [InlineData("service-monitor-without-service.yaml", "serviceMonitor.enabled needs service.enabled")]
    public async Task Chart_WithUnworkableValues_FailsToRenderNamingTheValue(string valuesFile, string message)
    {
        ToolResult render = await renderer.Render(Path.Combine("..", "invalid", valuesFile));

        Assert.True(render.ExitCode == 1, render.ToString());
        Assert.Contains("Error: execution error at (turn/templates/", render.StandardError, StringComparison.Ordinal);
        Assert.Contains(message, render.StandardError, StringComparison.Ordinal);
        Assert.Equal("", render.StandardOutput);
    }

    [Theory]
    [MemberData(nameof(InvalidValuesFiles))]
    public void InvalidValuesFile_HasAnExpectedMessage(string valuesFile)
    {
        // Every file in tests/helm/invalid is asserted on above; a new one needs its message there.
        string[] covered =
        [
            "bad-kind.yaml", "empty-realm.yaml", "tls-without-secret.yaml", "reversed-relay-range.yaml",
            "short-grace-period.yaml", "short-auth-secret.yaml", "short-join-token-secret.yaml", "service-monitor-without-service.yaml",
        ];
        Assert.Contains(valuesFile, covered);
    }

    [Fact]
    public async Task ChartAndValuesFiles_PassYamlLint()
    {
        string[] files =
        [
            Path.Combine(HelmPrerequisites.ChartDirectory, "Chart.yaml"),
            Path.Combine(HelmPrerequisites.ChartDirectory, "values.yaml"),
            HelmPrerequisites.PathOf("yamllint.yaml"),
            .. Directory.GetFiles(HelmPrerequisites.PathOf("values"), "*.yaml"),
            .. Directory.GetFiles(HelmPrerequisites.PathOf("invalid"), "*.yaml"),
        ];

        ToolResult lint = await ToolRunner.RunAsync(HelmPrerequisites.YamlLint, ["-c", HelmPrerequisites.PathOf("yamllint.yaml"), "-f", "parsable", "--strict", .. files], ToolTimeout);

        Assert.True(lint.ExitCode == 0, lint.ToString());
    }

    [Fact]
    public async Task Render_WithDefaults_MatchesOnEveryRunButTheGeneratedSecret()
    {
        ToolResult first = await renderer.Render("default.yaml");
        ToolResult second = await renderer.Render("default.yaml");
        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first + "\n" + second);

        // randAlphaNum makes new credentials on each install; nothing else may vary.
        static string WithoutSecretData(string text)
            => string.Join('\n', text.Split('\n').Where(line => !new[] { "  auth-secret: ", "  admin-api-key: ", "  join-token-secret: ", "  signal-api-key: " }.Any(key => line.StartsWith(key, StringComparison.Ordinal))));
        Assert.Equal(WithoutSecretData(first.StandardOutput), WithoutSecretData(second.StandardOutput));
        Assert.NotEqual(first.StandardOutput, second.StandardOutput);
    }

    private static TheoryData<string> Files(string folder)
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(HelmPrerequisites.PathOf(folder), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }
}

/// <summary>Builds tests/helm/render once for the class, into a temporary directory.</summary>
public sealed class HelmRenderer : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("turn-helm-").FullName;

    private string? renderer;

    public async Task InitializeAsync()
    {
        HelmPrerequisites.Require();
        string binary = Path.Combine(directory, "render");

        // GOPATH mode over Debian's Go packages in /usr/share/gocode: nothing is downloaded.
        string[] arguments =
        [
            "GO111MODULE=off",
            "GOFLAGS=",
            "GOPATH=" + Path.Combine(directory, "gopath") + ":" + HelmPrerequisites.DebianGoPath,
            "GOCACHE=" + Path.Combine(Path.GetTempPath(), "turn-helm-render-gocache"),
            "go", "build", "-o", binary, ".",
        ];
        ToolResult build = await ToolRunner.RunAsync("env", arguments, TimeSpan.FromMinutes(5), HelmPrerequisites.PathOf("render"));
        Assert.True(build.ExitCode == 0, "building tests/helm/render failed\n" + build);
        renderer = binary;
    }

    /// <summary>Renders the chart with tests/helm/values/FILE (a path relative to that folder) and any extra arguments.</summary>
    internal Task<ToolResult> Render(string valuesFile, params string[] extraArguments)
    {
        Assert.True(renderer is not null, "the renderer was not built");
        string[] arguments = ["--chart", HelmPrerequisites.ChartDirectory, "-f", HelmPrerequisites.PathOf("values", valuesFile), .. extraArguments];
        return ToolRunner.RunAsync(renderer, arguments, TimeSpan.FromSeconds(60));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>Where the chart and its test tools are, and a clear failure when one is missing.</summary>
internal static class HelmPrerequisites
{
    public const string Node = "node";

    public const string YamlLint = "yamllint";

    public const string DebianGoPath = "/usr/share/gocode";


    public static string ChartDirectory => Repository.PathOf("deploy", "helm", "turn");

    /// <summary>A path under tests/helm.</summary>
    public static string PathOf(params string[] parts) => Repository.PathOf(["tests", "helm", .. parts]);

    public static void Require()
    {
        var missing = new List<string>();
        if (!OnPath("go"))
        {
            missing.Add("Go (`go`): apt-get install -y golang-go");
        }

        foreach ((string package, string directory) in new[]
        {
            ("golang-github-masterminds-sprig-dev", "github.com/Masterminds/sprig"),
            ("golang-gopkg-yaml.v3-dev", "gopkg.in/yaml.v3"),
            ("golang-gopkg-yaml.v2-dev", "gopkg.in/yaml.v2"),
        })
        {
            if (!Directory.Exists(Path.Combine(DebianGoPath, "src", directory)))
            {
                missing.Add($"{directory} in {DebianGoPath}: apt-get install -y {package}");
            }
        }

        if (!OnPath(YamlLint))
        {
            missing.Add("yamllint: apt-get install -y yamllint");
        }

        if (!OnPath(Node))
        {
            missing.Add("Node.js (`node`): apt-get install -y nodejs npm");
        }

        if (!File.Exists(PathOf("node_modules", "kubernetes-models", "package.json")))
        {
            missing.Add($"kubernetes-models in {PathOf("node_modules")}: npm ci --prefix tests/helm");
        }

        if (missing.Count > 0)
        {
            Assert.Fail("The Helm chart tests need what is missing here (tests/run.sh installs it):\n  " + string.Join("\n  ", missing));
        }
    }

    private static bool OnPath(string tool) => ToolRunner.Find(tool) is not null;
}
