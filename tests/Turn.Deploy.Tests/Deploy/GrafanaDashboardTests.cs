using System.Text.Json;
using Xunit;

namespace Turn.Tests.Deploy;

public class GrafanaDashboardTests
{
    private const string DataSourceUid = "${DS_PROMETHEUS}";
    private const string InstanceFilter = "instance=~\"$instance\"";

    // The metric families the daemon documents on GET /metrics, as named in their "# TYPE" lines.
    private static readonly string[] DocumentedMetrics =
    [
        "turn_build_info",
        "turn_ready",
        "turn_draining",
        "turn_reloads_total",
        "turn_allocations",
        "turn_allocations_created_total",
        "turn_allocations_ended_total",
        "turn_allocations_refused_total",
        "turn_allocation_lifetime_seconds",
        "turn_requests_total",
        "turn_request_duration_seconds",
        "turn_auth_failures_total",
        "turn_auth_rate_limited_total",
        "turn_binding_requests_total",
        "turn_relayed_packets_total",
        "turn_relayed_bytes_total",
        "turn_dropped_packets_total",
        "turn_permissions",
        "turn_channels",
        "turn_stun_packets_total",
        "turn_io_errors_total",
        "turn_stream_connections_total",
        "turn_relay_icmp_reported_total",
        "turn_signal_connections",
        "turn_signal_rooms",
        "turn_signal_peers",
        "turn_signal_messages_total",
        "turn_signal_errors_total",
        "turn_signal_resumes_total",
        "turn_signal_disconnects_total",
        "turn_signal_send_queue_drops_total",
        "process_cpu_seconds_total",
        "process_working_set_bytes",
        "process_private_memory_bytes",
        "process_open_handles",
        "dotnet_collection_count_total",
        "dotnet_total_memory_bytes",
    ];

    private static readonly string[] CounterFunctions = ["rate", "irate", "increase"];

    [Fact]
    public void Dashboard_HasTheImportStructure()
    {
        using JsonDocument document = Load();
        JsonElement root = document.RootElement;

        JsonElement inputs = root.GetProperty("__inputs");
        Assert.Contains(inputs.EnumerateArray(), input =>
            input.GetProperty("name").GetString() == "DS_PROMETHEUS"
            && input.GetProperty("type").GetString() == "datasource"
            && input.GetProperty("pluginId").GetString() == "prometheus");
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("uid").GetString()));
        Assert.InRange(root.GetProperty("schemaVersion").GetInt32(), 36, 41);
        Assert.NotEmpty(root.GetProperty("panels").EnumerateArray());
        if (root.TryGetProperty("id", out JsonElement id))
        {
            Assert.Equal(JsonValueKind.Null, id.ValueKind);
        }
    }

    [Fact]
    public void Panels_HaveUniqueIdsAndPositionsInsideTheGrid()
    {
        using JsonDocument document = Load();

        var ids = new HashSet<int>();
        IReadOnlyList<JsonElement> panels = DashboardQueries.Panels(document.RootElement);
        Assert.NotEmpty(panels);
        foreach (JsonElement panel in panels)
        {
            string title = panel.GetProperty("title").GetString()!;
            Assert.True(ids.Add(panel.GetProperty("id").GetInt32()), $"panel \"{title}\" repeats id {panel.GetProperty("id")}");
            JsonElement grid = panel.GetProperty("gridPos");
            int x = grid.GetProperty("x").GetInt32();
            int w = grid.GetProperty("w").GetInt32();
            Assert.True(x >= 0 && w >= 1 && x + w <= 24, $"panel \"{title}\" spans columns {x}..{x + w}");
            Assert.True(grid.GetProperty("y").GetInt32() >= 0, $"panel \"{title}\" has a negative y");
            Assert.True(grid.GetProperty("h").GetInt32() >= 1, $"panel \"{title}\" has no height");
        }
    }

    [Fact]
    public void EveryPanel_QueriesTheImportedPrometheus()
    {
        using JsonDocument document = Load();

        JsonElement[] panels = [.. DataPanels(document.RootElement)];
        Assert.NotEmpty(panels);
        foreach (JsonElement panel in panels)
        {
            string title = panel.GetProperty("title").GetString()!;
            Assert.True(panel.TryGetProperty("targets", out JsonElement targets) && targets.GetArrayLength() > 0, $"panel \"{title}\" has no targets");
            if (panel.TryGetProperty("datasource", out JsonElement panelSource))
            {
                AssertImportedPrometheus(panelSource, $"panel \"{title}\"");
            }

            foreach (JsonElement target in targets.EnumerateArray())
            {
                JsonElement source = target.TryGetProperty("datasource", out JsonElement own) ? own : panelSource;
                AssertImportedPrometheus(source, $"a target of \"{title}\"");
            }
        }
    }

    [Fact]
    public void EveryTarget_HasANonEmptyBalancedExpression()
    {
        using JsonDocument document = Load();

        JsonElement[] panels = [.. DataPanels(document.RootElement)];
        Assert.NotEmpty(panels);
        foreach (JsonElement panel in panels)
        {
            foreach (JsonElement target in panel.GetProperty("targets").EnumerateArray())
            {
                string title = panel.GetProperty("title").GetString()!;
                Assert.True(target.TryGetProperty("expr", out JsonElement expr), $"a target of \"{title}\" has no expr");
                string text = expr.GetString()!;
                Assert.False(string.IsNullOrWhiteSpace(text), $"a target of \"{title}\" has an empty expr");
                Assert.True(IsBalanced(text), $"unbalanced brackets in \"{title}\": {text}");
            }
        }
    }

    [Fact]
    public void EverySelector_IsFilteredByTheInstanceVariable()
    {
        IReadOnlyList<string> expressions = DashboardQueries.Expressions(DashboardQueries.DashboardPath);
        Assert.NotEmpty(expressions);
        foreach (string expression in expressions)
        {
            IReadOnlyList<DashboardQueries.Selector> selectors = DashboardQueries.Selectors(expression);
            Assert.NotEmpty(selectors);
            Assert.All(selectors, s => Assert.True(s.Matchers.Contains(InstanceFilter, StringComparison.Ordinal), $"{s.Name} is not filtered by instance in: {expression}"));
        }
    }

    [Fact]
    public void EveryQueriedMetric_IsDocumented()
    {
        IReadOnlySet<string> queried = DashboardQueries.MetricNames(DashboardQueries.DashboardPath);

        string[] unknown = queried.Except(DocumentedMetrics, StringComparer.Ordinal).ToArray();
        Assert.True(unknown.Length == 0, "not exported by the daemon: " + string.Join(", ", unknown));
    }

    [Fact]
    public void EveryDocumentedMetric_IsCharted()
    {
        IReadOnlySet<string> queried = DashboardQueries.MetricNames(DashboardQueries.DashboardPath);

        string[] missing = DocumentedMetrics.Except(queried, StringComparer.Ordinal).ToArray();
        Assert.True(missing.Length == 0, "on no panel: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryCounter_IsReadThroughRateIncreaseOrIrate()
    {
        int counters = 0;
        foreach (string expression in DashboardQueries.Expressions(DashboardQueries.DashboardPath))
        {
            foreach (DashboardQueries.Selector selector in DashboardQueries.Selectors(expression))
            {
                // A histogram's series are counters too.
                if (selector.Name.EndsWith("_total", StringComparison.Ordinal) || selector.Name != DashboardQueries.FamilyName(selector.Name))
                {
                    Assert.True(selector.Function is not null && CounterFunctions.Contains(selector.Function), $"{selector.Name} is read through {selector.Function ?? "nothing"} in: {expression}");
                    counters++;
                }
            }
        }

        // The dashboard charts counters (turn_requests_total and the like); none found means none was checked.
        Assert.True(counters > 0, "no counter selector found in the dashboard");
    }

    [Fact]
    public void InstanceVariable_ListsEveryInstanceOfTheBuildInfo_WithMultiAndAll()
    {
        using JsonDocument document = Load();

        JsonElement instance = Assert.Single(
            document.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => v.GetProperty("name").GetString() == "instance");
        Assert.Equal("label_values(turn_build_info, instance)", instance.GetProperty("definition").GetString());
        Assert.Equal("label_values(turn_build_info, instance)", instance.GetProperty("query").GetProperty("query").GetString());
        Assert.Equal(DataSourceUid, instance.GetProperty("datasource").GetProperty("uid").GetString());
        Assert.True(instance.GetProperty("multi").GetBoolean());
        Assert.True(instance.GetProperty("includeAll").GetBoolean());
    }

    [Theory]
    [InlineData("turn_ready", "turn_ready")]
    [InlineData("sum by (method, code) (rate(turn_requests_total{instance=~\"$instance\",code!=\"success\"}[$__rate_interval]))", "turn_requests_total")]
    [InlineData("histogram_quantile(0.99, sum by (le, method) (rate(turn_request_duration_seconds_bucket{job=\"turn\"}[5m])))", "turn_request_duration_seconds")]
    [InlineData("sum(rate(h_sum[1m])) / sum(rate(h_count[1m]))", "h")]
    [InlineData("clamp_min(sum by(le)(rate(h_bucket[1m])), 1e-3)", "h")]
    [InlineData("label_replace(up{job=\"x\"}, \"dst\", \"$1\", \"src\", \"(.*)\") * on (instance) group_left (version) turn_build_info", "turn_build_info", "up")]
    [InlineData("max without (instance) (process_open_handles offset 5m) > bool 10", "process_open_handles")]
    [InlineData("topk(5, dotnet_collection_count_total{generation=\"2\"})", "dotnet_collection_count_total")]
    [InlineData("rate(x_total{path=\"{not} a ( metric\"}[5m:1m])", "x_total")]
    [InlineData("SUM BY (reason) (increase(a_total[${__range}])) or vector(0) and time() > 0", "a_total")]
    [InlineData("job:turn_requests:rate5m unless ignoring(code) b", "b", "job:turn_requests:rate5m")]
    [InlineData("vector(1) + scalar(time())")]
    public void MetricNamesIn_KeepsOnlyMetricFamilies(string expression, params string[] expected)
    {
        Assert.Equal(expected, DashboardQueries.MetricNamesIn(expression));
    }

    [Fact]
    public void Selectors_NameTheInnermostCallAndKeepTheMatchers()
    {
        IReadOnlyList<DashboardQueries.Selector> selectors = DashboardQueries.Selectors(
            "sum by (le) (rate(a_bucket{instance=~\"$instance\"}[$__rate_interval])) / sum(c_total) + (d)");

        Assert.Equal(
            [
                new DashboardQueries.Selector("a_bucket", "instance=~\"$instance\"", "rate"),
                new DashboardQueries.Selector("c_total", string.Empty, "sum"),
                new DashboardQueries.Selector("d", string.Empty, null),
            ],
            selectors);
    }

    [Theory]
    [InlineData("rate(x{a=\"(\"}[5m])", true)]
    [InlineData("sum(rate(x[5m])", false)]
    [InlineData("x{a=\"b\"]", false)]
    [InlineData(")(", false)]
    public void IsBalanced_IgnoresBracketsInStrings(string expression, bool balanced)
    {
        Assert.Equal(balanced, IsBalanced(expression));
    }

    private static JsonDocument Load() => JsonDocument.Parse(File.ReadAllText(DashboardQueries.DashboardPath));

    private static IEnumerable<JsonElement> DataPanels(JsonElement dashboard)
        => DashboardQueries.Panels(dashboard).Where(p => p.GetProperty("type").GetString() != "row");

    private static void AssertImportedPrometheus(JsonElement source, string what)
    {
        Assert.True(source.ValueKind == JsonValueKind.Object, what + " has no datasource");
        Assert.True(
            source.TryGetProperty("uid", out JsonElement uid) && uid.GetString() == DataSourceUid
                && source.TryGetProperty("type", out JsonElement type) && type.GetString() == "prometheus",
            $"{what} queries {source} instead of the imported Prometheus");
    }

    private static bool IsBalanced(string expression)
    {
        var open = new Stack<char>();
        for (int i = 0; i < expression.Length; i++)
        {
            char c = expression[i];
            if (c is '"' or '\'' or '`')
            {
                char quote = c;
                for (i++; i < expression.Length && expression[i] != quote; i++)
                {
                    if (expression[i] == '\\' && quote != '`')
                    {
                        i++;
                    }
                }

                if (i >= expression.Length)
                {
                    return false;
                }
            }
            else if (c is '(' or '[' or '{')
            {
                open.Push(c);
            }
            else if (c is ')' or ']' or '}')
            {
                char expected = c switch { ')' => '(', ']' => '[', _ => '{' };
                if (open.Count == 0 || open.Pop() != expected)
                {
                    return false;
                }
            }
        }

        return open.Count == 0;
    }
}
