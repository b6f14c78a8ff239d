using Turn.Auth;
using Turn.Relay;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Relay;

/// <summary>The allocation's permission and channel tables on their own (RFC 8656 §9, §12).</summary>
public sealed class AllocationTests
{
    private const long Now = 1_000_000;
    private const long Later = Now + 300_000;
    private static readonly StunAddress PeerA = TurnTestHarness.At("8.8.8.8", 5000);
    private static readonly StunAddress PeerB = TurnTestHarness.At("8.8.4.4", 5000);
    private static readonly StunAddress PeerC = TurnTestHarness.At("9.9.9.9", 5000);

    [Fact]
    public void TryInstallPermissions_WhenAllFit_InstallsAll()
    {
        Allocation allocation = Create(new RelayLimits { MaxPermissionsPerAllocation = 2 });

        Assert.True(allocation.TryInstallPermissions([PeerA, PeerB], Later));

        Assert.True(allocation.HasPermission(PeerA, Now));
        Assert.True(allocation.HasPermission(PeerB, Now));
    }

    [Fact]
    public void TryInstallPermissions_WhenNotAllFit_InstallsNone()
    {
        Allocation allocation = Create(new RelayLimits { MaxPermissionsPerAllocation = 2 });
        allocation.TryInstallPermissions([PeerA], Later);

        Assert.False(allocation.TryInstallPermissions([PeerB, PeerC], Later));

        Assert.False(allocation.HasPermission(PeerB, Now));
        Assert.False(allocation.HasPermission(PeerC, Now));
    }

    [Fact]
    public void TryInstallPermissions_CountsAnAddressRepeatedInOneRequestOnce()
    {
        Allocation allocation = Create(new RelayLimits { MaxPermissionsPerAllocation = 1 });

        Assert.True(allocation.TryInstallPermissions([PeerA, PeerA.WithPort(6000)], Later));
    }

    [Fact]
    public void HasPermission_IgnoresThePortAndEndsAtExpiry()
    {
        Allocation allocation = Create();
        allocation.TryInstallPermissions([PeerA], Later);

        Assert.True(allocation.HasPermission(PeerA.WithPort(1), Later - 1));
        Assert.False(allocation.HasPermission(PeerA, Later));
    }

    [Fact]
    public void SweepPermissions_DropsOnlyExpiredOnes()
    {
        Allocation allocation = Create();
        allocation.TryInstallPermissions([PeerA], Now + 1000);
        allocation.TryInstallPermissions([PeerB], Now + 5000);

        Assert.Equal(1, allocation.SweepPermissions(Now + 1000));

        Assert.True(allocation.HasPermission(PeerB, Now));
        Assert.False(allocation.HasPermission(PeerA, Now));
    }

    [Fact]
    public void BindChannel_ConflictsOnChannelOrPeerBoundOtherwise()
    {
        Allocation allocation = Create();
        Assert.Equal(ChannelBindResult.Bound, allocation.BindChannel(0x4000, PeerA, Later, Later));

        Assert.Equal(ChannelBindResult.Conflict, allocation.BindChannel(0x4000, PeerB, Later, Later));
        Assert.Equal(ChannelBindResult.Conflict, allocation.BindChannel(0x4001, PeerA, Later, Later));
        Assert.Equal(ChannelBindResult.Bound, allocation.BindChannel(0x4000, PeerA, Later + 1, Later + 1));
    }

    [Fact]
    public void BindChannel_WhenTheChannelTableIsFull_HasNoCapacity()
    {
        Allocation allocation = Create(new RelayLimits { MaxChannelsPerAllocation = 1 });
        allocation.BindChannel(0x4000, PeerA, Later, Later);

        Assert.Equal(ChannelBindResult.NoCapacity, allocation.BindChannel(0x4001, PeerB, Later, Later));
    }

    [Fact]
    public void BindChannel_InstallsThePermission()
    {
        Allocation allocation = Create();

        allocation.BindChannel(0x4000, PeerA, Now + 600_000, Later);

        Assert.True(allocation.HasPermission(PeerA, Later - 1));
        Assert.False(allocation.HasPermission(PeerA, Later));
    }

    [Fact]
    public void TryGetChannelPeer_NeedsALiveChannelAndALivePermission()
    {
        Allocation allocation = Create();
        allocation.BindChannel(0x4000, PeerA, Now + 600_000, Later);

        Assert.True(allocation.TryGetChannelPeer(0x4000, Now, out StunAddress peer));
        Assert.Equal(PeerA, peer);
        Assert.False(allocation.TryGetChannelPeer(0x4000, Later, out _));
        Assert.False(allocation.TryGetChannelPeer(0x4001, Now, out _));
    }

    [Fact]
    public void AdmitFromPeer_WithPermission_NamesTheChannelOfThatExactTransportAddress()
    {
        Allocation allocation = Create();
        allocation.BindChannel(0x4000, PeerA, Now + 600_000, Later);

        Assert.True(allocation.AdmitFromPeer(PeerA, 100, Now, out ushort channel));
        Assert.Equal(0x4000, channel);
        Assert.True(allocation.AdmitFromPeer(PeerA.WithPort(6000), 100, Now, out ushort other));
        Assert.Equal(0, other);
    }

    [Fact]
    public void AdmitFromPeer_WithoutPermission_RefusesIt()
    {
        Allocation allocation = Create();
        allocation.TryInstallPermissions([PeerA], Later);

        Assert.False(allocation.AdmitFromPeer(PeerB, 100, Now, out _));
        Assert.False(allocation.AdmitFromPeer(PeerA, 100, Later, out _));
    }

    [Fact]
    public void SweepChannels_KeepsAnExpiredChannelFiveMinutesForItsPeer()
    {
        Allocation allocation = Create();
        long expires = Now + 600_000;
        allocation.BindChannel(0x4000, PeerA, expires, expires);

        Assert.Equal(1, allocation.SweepChannels(expires + 299_999));
        Assert.Equal(ChannelBindResult.Conflict, allocation.BindChannel(0x4000, PeerB, expires + 900_000, expires + 900_000));
        Assert.Equal(0, allocation.SweepChannels(expires + 300_000));
        Assert.Equal(ChannelBindResult.Bound, allocation.BindChannel(0x4000, PeerB, expires + 900_000, expires + 900_000));
    }

    [Fact]
    public void Close_DisposesTheRelaysOnce()
    {
        var relay4 = new TurnFakeRelayEndpoint(TurnTestHarness.At("192.0.2.10", 50000));
        var relay6 = new TurnFakeRelayEndpoint(TurnTestHarness.At("2001:db8::10", 50000));
        Allocation allocation = Create(relay4: relay4, relay6: relay6);

        Assert.True(allocation.Close());
        Assert.False(allocation.Close());

        Assert.True(relay4.Disposed);
        Assert.True(relay6.Disposed);
        Assert.True(allocation.IsClosed);
    }

    [Fact]
    public void AdmitFromPeer_OverTheBandwidthCap_SaysSoApartFromNoPermission()
    {
        Allocation allocation = Create(new RelayLimits { BandwidthBytesPerSecond = 1000 });
        allocation.TryInstallPermissions([PeerA], Later);

        Assert.True(allocation.AdmitFromPeer(PeerA, 1000, Now, out _, out bool first));
        Assert.False(allocation.AdmitFromPeer(PeerA, 1, Now, out _, out bool overQuota));
        Assert.False(allocation.AdmitFromPeer(PeerB, 1, Now, out _, out bool noPermission));

        Assert.False(first);
        Assert.True(overQuota);
        Assert.False(noPermission);
    }

    [Fact]
    public void TakeToPeer_SpendsTheBandwidthBudget()
    {
        Allocation allocation = Create(new RelayLimits { BandwidthBytesPerSecond = 1000 });

        Assert.True(allocation.TakeToPeer(1000, Now));
        Assert.False(allocation.TakeToPeer(1, Now));
        Assert.True(allocation.TakeToPeer(500, Now + 500));
    }

    internal static Allocation Create(RelayLimits? limits = null, IRelayEndpoint? relay4 = null, IRelayEndpoint? relay6 = null, long expiresAt = Now + 600_000, string username = "alice")
        => new(
            new FiveTuple(TransportProtocol.Udp, TurnTestHarness.DefaultClient, TurnTestHarness.ServerAddress),
            username,
            new CredentialKey(PasswordAlgorithm.Md5, new byte[16]),
            relay4 ?? new TurnFakeRelayEndpoint(TurnTestHarness.At("192.0.2.10", 49152)),
            relay6,
            new TurnFakeClientSender(),
            limits ?? new RelayLimits(),
            expiresAt,
            new byte[12]);
}
