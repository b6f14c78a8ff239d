using System.Text;
using Turn.Auth;
using Turn.Hosting;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>How handler results are counted, read back through the Prometheus exporter.</summary>
public sealed class TurnMetricsTests
{
    [Fact]
    public async Task RateLimitedDrop_CountsAsADropAndARateLimitHit_NotAsAnAnsweredRequest()
    {
        string text = await CountAndScrape(metrics => metrics.CountPacket(
            TransportProtocol.Udp,
            HandleResult.Drop(Outcome.DroppedRateLimited) with { Method = StunMethod.Allocate, Auth = AuthStatus.Unauthorized }));

        Assert.Contains("turn_auth_rate_limited_total 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_dropped_packets_total{reason=\"rate_limited\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_requests_total{method=\"allocate\",code=\"success\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("turn_auth_failures_total{reason=\"unauthorized\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusedAllocate_CountsTheCodeAndTheReason_ButNotTheChallenge()
    {
        string text = await CountAndScrape(metrics =>
        {
            var rejected = new HandleResult(Outcome.Rejected, 100, -1, 0) { Method = StunMethod.Allocate };
            metrics.CountPacket(TransportProtocol.Tcp, rejected with { Code = 401, Auth = AuthStatus.Challenge });
            metrics.CountPacket(TransportProtocol.Tcp, rejected with { Code = 486 });
            metrics.CountPacket(TransportProtocol.Tcp, rejected with { Code = 403, Draining = true });
            metrics.CountPacket(TransportProtocol.Tcp, rejected with { Code = 441 });
        });

        Assert.Contains("turn_requests_total{method=\"allocate\",code=\"401\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_allocations_refused_total{reason=\"user_quota\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_allocations_refused_total{reason=\"draining\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_allocations_refused_total{reason=\"auth_failed\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_auth_failures_total{reason=\"wrong_credentials\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_stun_packets_total{transport=\"tcp\",outcome=\"rejected\"} 4", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relayed_CountsPacketsAndBytesByDirectionAndTransport()
    {
        string text = await CountAndScrape(metrics =>
        {
            metrics.CountRelayed(RelayDirection.ToPeer, TransportProtocol.Tls, 100);
            metrics.CountRelayed(RelayDirection.ToPeer, TransportProtocol.Tls, 50);
            metrics.CountRelayed(RelayDirection.ToClient, TransportProtocol.Udp, 7);
        });

        Assert.Contains("turn_relayed_packets_total{direction=\"to_peer\",transport=\"tls\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("turn_relayed_bytes_total{direction=\"to_peer\",transport=\"tls\"} 150", text, StringComparison.Ordinal);
        Assert.Contains("turn_relayed_packets_total{direction=\"to_client\",transport=\"udp\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("turn_relayed_packets_total{direction=\"to_client\",transport=\"tls\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryOutcome_HasExactlyOneSeriesPerTransport_AndEveryDropOneReason_UnderTheDocumentedNames()
    {
        // One packet of each outcome on each transport: each lands in its own series, once.
        string text = await CountAndScrape(metrics =>
        {
            foreach (TransportProtocol transport in Enum.GetValues<TransportProtocol>())
            {
                foreach (Outcome outcome in Enum.GetValues<Outcome>())
                {
                    metrics.CountPacket(transport, new HandleResult(outcome, 0, -1, 0));
                }
            }
        });
        string[] lines = text.Split('\n');
        string[] outcomes = ["answered", "rejected", "ignored", "truncated", "not_stun", "malformed", "relayed", "no_allocation", "no_permission", "denied_peer", "quota", "send_failed", "rate_limited", "too_big"];
        Assert.Equal(outcomes.Length, Enum.GetValues<Outcome>().Length);
        foreach (string transport in new[] { "udp", "tcp", "tls" })
        {
            foreach (string outcome in outcomes)
            {
                Assert.Single(lines, l => l == $"turn_stun_packets_total{{transport=\"{transport}\",outcome=\"{outcome}\"}} 1");
            }
        }

        Assert.Equal(outcomes.Length * 3, lines.Count(l => l.StartsWith("turn_stun_packets_total{", StringComparison.Ordinal)));
        string[] drops = ["truncated", "not_stun", "malformed", "no_allocation", "no_permission", "denied_peer", "quota", "send_failed", "rate_limited", "too_big"];
        Assert.Equal(drops.Length, Enum.GetValues<Outcome>().Count(o => o.ToString().StartsWith("Dropped", StringComparison.Ordinal)));
        foreach (string drop in drops)
        {
            Assert.Single(lines, l => l == $"turn_dropped_packets_total{{reason=\"{drop}\"}} 3");
        }
    }

    [Fact]
    public void LabelsFromEnums_AreTheirMembersInSnakeCase_AndRefuseGaps()
    {
        Assert.Equal(["expired", "deleted", "connection_closed", "shutdown"], MetricLabels.Of<AllocationEnd>());
        Assert.Equal(["to_peer", "to_client"], MetricLabels.Of<RelayDirection>());
        Assert.Equal("not_stun", MetricLabels.Snake("DroppedNotStun", "Dropped"));
        Assert.Throws<InvalidOperationException>(() => MetricLabels.Of<StunMethod>());
    }

    [Fact]
    public void EveryLabelTheReadmeDocuments_IsTheOneAnEnumMemberGives()
    {
        // README.md's metrics table: a renamed member would rename an exported series.
        Assert.Equal(["udp", "tcp", "tls"], MetricLabels.Of<TransportProtocol>());
        Assert.Equal(["bad_request", "auth_failed", "forbidden", "draining", "allocation_mismatch", "unsupported_transport", "family_not_supported", "user_quota", "capacity", "unknown_attribute", "other", "address_quota"], MetricLabels.Of<TurnMetrics.AllocateRefusal>());
        Assert.Equal(["bad_request", "unauthorized", "stale_nonce", "wrong_credentials"], MetricLabels.Of<TurnMetrics.AuthFailure>());
        Assert.Equal(["accepted", "refused", "address_cap"], MetricLabels.Of<TurnMetrics.ConnectionResult>());
        Assert.Equal("create_permission", MetricLabels.Snake(nameof(StunMethod.CreatePermission)));
        Assert.Equal("channel_bind", MetricLabels.Snake(nameof(StunMethod.ChannelBind)));
    }

    private static async Task<string> CountAndScrape(Action<TurnMetrics> count)
    {
        // A meter of its own name, so that no other test's instruments land in this registry.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var metrics = new TurnMetrics(new NamedMeterFactory());
        using var bridge = new PrometheusBridge(registry, m => ReferenceEquals(m, NamedMeterFactory.Last));
        count(metrics);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private sealed class NamedMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        public static System.Diagnostics.Metrics.Meter? Last { get; private set; }

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            Last = new System.Diagnostics.Metrics.Meter(options.Name + ".test." + Guid.NewGuid().ToString("N"));
            return Last;
        }

        public void Dispose()
        {
        }
    }
}
