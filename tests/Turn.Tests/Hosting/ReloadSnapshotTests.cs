using System.Net;
using Turn.Hosting;
using Turn.Relay;
using Xunit;
using Turn.Configuration;

namespace Turn.Tests.Hosting;

/// <summary>What a reload takes from a new configuration, and what stays as it runs until a restart.</summary>
public sealed class ReloadSnapshotTests
{
    private static readonly TurnOptions Running = new()
    {
        Listen = new ListenOptions { Addresses = [IPAddress.Parse("192.0.2.1")], UdpPort = 3478 },
        Auth = new AuthOptions { Realm = "running", Secrets = ["old-secret-0123456789"] },
        Relay = new RelayOptions { Addresses = [IPAddress.Parse("192.0.2.1")], MinPort = 49152, MaxPort = 65535 },
        Signal = new Turn.Signal.SignalOptions { Path = "/signal", MaxPeersPerRoom = 10 },
    };

    [Fact]
    public void Reload_TakesSecretsListsAndLimits_AndKeepsWhatIsBound()
    {
        TurnOptions next = Running with
        {
            Listen = new ListenOptions { Addresses = [IPAddress.Parse("198.51.100.1")], UdpPort = 3479 },
            Auth = new AuthOptions { Realm = "elsewhere", Secrets = ["new-secret-0123456789"], NonceLifetimeSeconds = 60 },
            Relay = new RelayOptions { Addresses = [IPAddress.Parse("198.51.100.1")], MinPort = 1024, MaxPort = 65535, AllowedPeers = [IpPrefix.Parse("10.1.0.0/16")] },
            Signal = new Turn.Signal.SignalOptions { Path = "/elsewhere", MaxPeersPerRoom = 20 },
        };

        TurnOptions effective = RestartOnly.Keep(Running, next);

        // Taken: secrets, lists, limits.
        Assert.Equal(["new-secret-0123456789"], effective.Auth.Secrets);
        Assert.Equal(next.Relay.AllowedPeers, effective.Relay.AllowedPeers);
        Assert.Equal(20, effective.Signal.MaxPeersPerRoom);

        // Kept: what sockets are bound to, and what running allocations depend on. A wider relay
        // range taken here would let the peer filter pass this host's own ports.
        Assert.Equal(Running.Listen, effective.Listen);
        Assert.Equal(Running.Relay.Addresses, effective.Relay.Addresses);
        Assert.Equal(49152, effective.Relay.MinPort);
        Assert.Equal("running", effective.Auth.Realm);
        Assert.Equal(Running.Auth.NonceLifetimeSeconds, effective.Auth.NonceLifetimeSeconds);
        Assert.Equal("/signal", effective.Signal.Path);
    }

    [Fact]
    public void TheRestartOnlyTable_WarnsOfWhatItKeeps_AndOfNothingElse()
    {
        TurnOptions next = Running with
        {
            Listen = new ListenOptions { Addresses = [IPAddress.Parse("198.51.100.1")], UdpPort = 3478 },
            Auth = Running.Auth with { Realm = "elsewhere", Secrets = ["new-secret-0123456789"] },
            Signal = Running.Signal with { Path = "/elsewhere", MaxPeersPerRoom = 20 },
        };

        Assert.Equal(["Listen", "Signal:Path", "Auth:Realm/NonceLifetimeSeconds"], RestartOnly.Changes(Running, next));

        // Equal content in new instances (as every reload reads them) is no change.
        TurnOptions same = Running with
        {
            Listen = new ListenOptions { Addresses = [IPAddress.Parse("192.0.2.1")], UdpPort = 3478 },
            Relay = Running.Relay with { Addresses = [IPAddress.Parse("192.0.2.1")], AllowedPeers = [IpPrefix.Parse("10.1.0.0/16")] },
            Http = new HttpOptions(),
            Metrics = new MetricsOptions(),
        };
        Assert.Empty(RestartOnly.Changes(Running, same));
        Assert.Same(same, RestartOnly.Keep(Running, same));

        // What is kept no longer differs: a second reload of the same file warns of nothing new.
        Assert.Empty(RestartOnly.Changes(Running, RestartOnly.Keep(Running, next)));
    }
}
