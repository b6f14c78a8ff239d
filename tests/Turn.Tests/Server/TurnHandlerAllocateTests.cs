using System.Buffers.Binary;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>RFC 8656 §7.1-§7.3: the Allocate request and its success and error responses.</summary>
public sealed class TurnHandlerAllocateTests
{
    [Fact]
    public void Allocate_WithoutRequestedTransport_Returns400()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Call(StunMethod.Allocate, null);

        TurnAssert.Error(400, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_Success_AnswersRelayedAddressLifetimeMappedAddressIntegrityAndFingerprint()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate();

        TurnAssert.Success(reply);
        Assert.Equal(StunMethod.Allocate, reply.Method);
        TurnFakeRelayEndpoint relay = Assert.Single(server.Ports.Opened);
        Assert.Equal(relay.Local, reply.XorAddress(StunAttributeType.XorRelayedAddress));
        Assert.Equal(TurnTestHarness.At("192.0.2.10", TurnFakeRelayPorts.MinPort), relay.Local);
        Assert.Equal(600u, reply.Lifetime);
        Assert.Equal(server.Client, reply.XorAddress(StunAttributeType.XorMappedAddress));
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.True(reply.HasFingerprint);
        Assert.False(reply.Has(StunAttributeType.ReservationToken));
        Assert.False(reply.Has(StunAttributeType.AddressErrorCode));
        Assert.Equal(TurnTestHarness.Software, System.Text.Encoding.UTF8.GetString(reply.Required(StunAttributeType.Software)));
    }

    [Fact]
    public void Allocate_Success_StartsTheRelayAndAttachesTheAllocationToTheClientTransport()
    {
        var server = new TurnTestHarness();

        server.AllocateOk();

        Allocation allocation = server.AllocationOf();
        Assert.Same(allocation, Assert.Single(server.Ports.Opened).StartedFor);
        Assert.Same(allocation, Assert.Single(server.Transport.Attached));
        Assert.Same(server.Transport.Senders[server.Client], allocation.Client);
        Assert.Equal(TurnTestHarness.Alice.Username, allocation.Username);
        Assert.Equal(server.NowMs + 600_000, allocation.ExpiresAt);
    }

    [Theory]
    [InlineData(null, 600u)]
    [InlineData(1200u, 1200u)]
    [InlineData(99999u, 3600u)]
    [InlineData(10u, 600u)]
    [InlineData(0u, 600u)]
    public void Allocate_WithRequestedLifetime_GrantsItWithinDefaultAndMaximum(uint? requested, uint granted)
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.AllocateOk(extra: (ref StunWriter w) =>
        {
            if (requested is uint seconds)
            {
                w.AddUInt32(StunAttributeType.Lifetime, seconds);
            }
        });

        Assert.Equal(granted, reply.Lifetime);
        Assert.Equal(server.NowMs + (granted * 1000L), server.AllocationOf().ExpiresAt);
    }

    [Fact]
    public void Allocate_Retransmitted_AnswersTheSameSuccessAgain()
    {
        var server = new TurnTestHarness();
        byte[] request = server.Signed(StunMethod.Allocate, TurnMessages.RequestedTransportUdp);
        TurnReply first = server.Request(request);
        server.Advance(1);

        TurnReply again = server.Request(request);

        TurnAssert.Success(first);
        TurnAssert.Success(again);
        Assert.Equal(first.XorAddress(StunAttributeType.XorRelayedAddress), again.XorAddress(StunAttributeType.XorRelayedAddress));
        Assert.Equal(first.XorAddress(StunAttributeType.XorMappedAddress), again.XorAddress(StunAttributeType.XorMappedAddress));
        Assert.InRange(again.Lifetime, 598u, 600u);
        TurnAssert.SignedWith(TurnTestHarness.Alice, again);
        Assert.Single(server.Ports.Opened);
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_RetransmittedWithEvenPortReservation_AnswersTheSameReservationToken()
    {
        // RFC 8489 §6.3.1: if only the answer to the retransmission arrives, client and server
        // must end in the same state as if the first had; the client would never learn the token.
        var server = new TurnTestHarness();
        byte[] request = server.Signed(StunMethod.Allocate, (ref StunWriter w) =>
        {
            TurnMessages.RequestedTransportUdp(ref w);
            w.AddBytes(StunAttributeType.EvenPort, [0x80]);
        });
        TurnReply first = server.Request(request);

        TurnReply again = server.Request(request);

        TurnAssert.Success(again);
        Assert.True(
            again.Attribute(StunAttributeType.ReservationToken) is byte[] token && token.AsSpan().SequenceEqual(first.Required(StunAttributeType.ReservationToken)),
            "RFC 8489 §6.3.1: the success answered to a retransmitted Allocate lacks the RESERVATION-TOKEN of the original success");
    }

    [Fact]
    public void Allocate_RetransmittedDualWithoutIpv6_AnswersTheAddressErrorCodeAgain()
    {
        var server = new TurnTestHarness(ipv6: false);
        byte[] request = server.Signed(StunMethod.Allocate, (ref StunWriter w) =>
        {
            TurnMessages.RequestedTransportUdp(ref w);
            w.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv6);
        });
        TurnReply first = server.Request(request);

        TurnReply again = server.Request(request);

        Assert.True(first.Has(StunAttributeType.AddressErrorCode));
        TurnAssert.Success(again);
        Assert.True(
            again.Has(StunAttributeType.AddressErrorCode),
            "RFC 8489 §6.3.1: the success answered to a retransmitted dual Allocate lacks the ADDRESS-ERROR-CODE (440 for IPv6) of the original success");
    }

    [Fact]
    public void Allocate_SecondWithAnotherTransactionId_Returns437()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Allocate();

        TurnAssert.Error(437, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Single(server.Ports.Opened);
    }

    [Fact]
    public void Allocate_SameTransactionIdFromAnotherUser_Returns437()
    {
        var server = new TurnTestHarness();
        byte[] transactionId = TurnMessages.TransactionId();
        server.Request(server.Signed(StunMethod.Allocate, TurnMessages.RequestedTransportUdp, transactionId: transactionId));

        TurnReply reply = server.Request(server.Signed(StunMethod.Allocate, TurnMessages.RequestedTransportUdp, TurnTestHarness.Bob, transactionId: transactionId));

        TurnAssert.Error(437, reply);
    }

    [Fact]
    public void Allocate_FromAnotherPortOfTheSameClient_IsAnotherAllocation()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Allocate(source: server.Client.WithPort(40001));

        TurnAssert.Success(reply);
        Assert.Equal(2, server.Allocations.Count);
        Assert.NotEqual(server.Ports.Opened[0].Local, reply.XorAddress(StunAttributeType.XorRelayedAddress));
    }

    [Fact]
    public void Allocate_RequestingTcp_Returns442()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Call(StunMethod.Allocate, (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedTransport, TurnAttributes.ProtocolTcp));

        TurnAssert.Error(442, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Empty(server.Ports.Opened);
    }

    [Fact]
    public void Allocate_WithMalformedRequestedTransport_Returns400()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Call(StunMethod.Allocate, (ref StunWriter w) => w.AddBytes(StunAttributeType.RequestedTransport, [17]));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void Allocate_RequestingIpv6WhenUnsupported_Returns440()
    {
        var server = new TurnTestHarness(ipv6: false);

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6));

        TurnAssert.Error(440, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_RequestingIpv4WhenOnlyIpv6IsServed_Returns440()
    {
        var server = new TurnTestHarness(ipv4: false, ipv6: true);

        TurnReply reply = server.Allocate();

        TurnAssert.Error(440, reply);
    }

    [Fact]
    public void Allocate_RequestingIpv6_RelaysFromIpv6()
    {
        var server = new TurnTestHarness(ipv6: true);

        TurnReply reply = server.AllocateOk(extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6));

        StunAddress relayed = reply.XorAddress(StunAttributeType.XorRelayedAddress);
        Assert.Equal(AddressFamily.InterNetworkV6, relayed.Family);
        Allocation allocation = server.AllocationOf();
        Assert.Null(allocation.Relay4);
        Assert.Equal(relayed, allocation.Relay6!.Local);
    }

    [Fact]
    public void Allocate_WithMalformedRequestedAddressFamily_Returns400()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, 0x03));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void Allocate_WithReservationTokenAndEvenPort_Returns400()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) =>
        {
            w.AddBytes(StunAttributeType.EvenPort, [0x80]);
            BinaryPrimitives.WriteUInt64BigEndian(w.Reserve(StunAttributeType.ReservationToken, 8), 0x0102030405060708);
        });

        TurnAssert.Error(400, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Empty(server.Ports.Opened);
    }

    [Fact]
    public void Allocate_WithReservationTokenAndAddressFamily_Returns400()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) =>
        {
            w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv4);
            BinaryPrimitives.WriteUInt64BigEndian(w.Reserve(StunAttributeType.ReservationToken, 8), 0x0102030405060708);
        });

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void Allocate_WithEvenPortReservingNext_ReturnsATokenThatAnotherAllocateRedeems()
    {
        var server = new TurnTestHarness();

        TurnReply first = server.AllocateOk(extra: (ref StunWriter w) => w.AddBytes(StunAttributeType.EvenPort, [0x80]));

        StunAddress even = first.XorAddress(StunAttributeType.XorRelayedAddress);
        Assert.Equal(0, even.Port % 2);
        byte[] token = first.Required(StunAttributeType.ReservationToken);
        Assert.Equal(8, token.Length);

        TurnReply second = server.AllocateOk(source: server.Client.WithPort(40001), extra: (ref StunWriter w) => w.AddBytes(StunAttributeType.ReservationToken, token));

        Assert.Equal(even.Port + 1, second.XorAddress(StunAttributeType.XorRelayedAddress).Port);
        Assert.False(second.Has(StunAttributeType.ReservationToken));
    }

    [Fact]
    public void Allocate_WithUnknownReservationToken_Returns508()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => BinaryPrimitives.WriteUInt64BigEndian(w.Reserve(StunAttributeType.ReservationToken, 8), 0x0102030405060708));

        TurnAssert.Error(508, reply);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithRequestedAndAdditionalAddressFamily_Returns400()
    {
        var server = new TurnTestHarness(ipv6: true);

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) =>
        {
            w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv4);
            w.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv6);
        });

        TurnAssert.Error(400, reply);
        Assert.Empty(server.Ports.Opened);
    }

    [Fact]
    public void Allocate_WithAdditionalAddressFamilyIpv4_Returns400()
    {
        var server = new TurnTestHarness(ipv6: true);

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv4));

        TurnAssert.Error(400, reply);
        Assert.Empty(server.Ports.Opened);
    }

    [Fact]
    public void Allocate_Dual_AnswersAnIpv4AndAnIpv6RelayedAddress()
    {
        var server = new TurnTestHarness(ipv6: true);

        TurnReply reply = server.AllocateDualOk();

        List<StunAddress> relayed = reply.XorAddresses(StunAttributeType.XorRelayedAddress);
        Assert.Equal(2, relayed.Count);
        Assert.Equal(AddressFamily.InterNetwork, relayed[0].Family);
        Assert.Equal(AddressFamily.InterNetworkV6, relayed[1].Family);
        Assert.False(reply.Has(StunAttributeType.AddressErrorCode));
        Allocation allocation = server.AllocationOf();
        Assert.Equal(relayed[0], allocation.Relay4!.Local);
        Assert.Equal(relayed[1], allocation.Relay6!.Local);
        Assert.Equal(relayed, server.Ports.Opened.Select(e => e.Local));
        Assert.All(server.Ports.Opened, e => Assert.Same(allocation, e.StartedFor));
    }

    [Fact]
    public void Allocate_DualWhenIpv6Unsupported_SucceedsWithAddressErrorCode440()
    {
        var server = new TurnTestHarness(ipv6: false);

        TurnReply reply = server.AllocateDualOk();

        StunAddress relayed = reply.XorAddress(StunAttributeType.XorRelayedAddress);
        Assert.Equal(AddressFamily.InterNetwork, relayed.Family);
        byte[] addressError = reply.Required(StunAttributeType.AddressErrorCode);
        Assert.True(ErrorCodeAttribute.TryReadAddressError(addressError, out byte family, out int code, out _));
        Assert.Equal(AddressAttribute.FamilyIPv6, family);
        Assert.Equal(440, code);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void Allocate_OverUserQuota_Returns486()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocationsPerUser = 1 });
        server.AllocateOk();

        TurnReply reply = server.Allocate(source: server.Client.WithPort(40001));

        TurnAssert.Error(486, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(1, server.Allocations.Count);
        TurnAssert.Success(server.Allocate(TurnTestHarness.Bob, source: server.Client.WithPort(40002)));
    }

    [Fact]
    public void Allocate_OverAddressQuota_Returns486_WhateverTheMintedUsername_AndAnotherAddressStillAllocates()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocationsPerAddress = 2 });
        TurnCredentials Peer(string id) => TurnTestHarness.RestUser(server.UnixSeconds + 600, id, TurnTestHarness.Secrets[0]);
        server.AllocateOk(Peer("p1"));
        TurnAssert.Success(server.Allocate(Peer("p2"), source: server.Client.WithPort(40001)));

        TurnReply third = server.Allocate(Peer("p3"), source: server.Client.WithPort(40002));

        TurnAssert.Error(486, third);
        TurnAssert.Success(server.Allocate(Peer("p3"), source: TurnTestHarness.At("198.51.100.8", 40000)));
        TurnAssert.Success(server.Refresh(0, Peer("p1")));
        TurnAssert.Success(server.Allocate(Peer("p4"), source: server.Client.WithPort(40003)));

        // The operator's static users are not minted per peer: the address quota is not theirs.
        TurnAssert.Success(server.Allocate(TurnTestHarness.Alice, source: server.Client.WithPort(40004)));
        TurnAssert.Success(server.Allocate(TurnTestHarness.Bob, source: server.Client.WithPort(40005)));
    }

    [Fact]
    public void Allocate_OverUserQuota_SucceedsAgainOnceAnAllocationEnds()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocationsPerUser = 1 });
        server.AllocateOk();
        TurnAssert.Success(server.Refresh(0));

        TurnReply reply = server.Allocate(source: server.Client.WithPort(40001));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_OverTotalQuota_Returns508()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocations = 1 });
        server.AllocateOk();

        TurnReply reply = server.Allocate(TurnTestHarness.Bob, source: server.Client.WithPort(40001));

        TurnAssert.Error(508, reply);
        TurnAssert.SignedWith(TurnTestHarness.Bob, reply);
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithNoRelayPortFree_Returns508AndGivesTheQuotaBack()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocations = 1, MaxAllocationsPerUser = 1 });
        server.Ports.Exhausted = true;

        TurnReply reply = server.Allocate();

        TurnAssert.Error(508, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(0, server.Allocations.Count);
        server.Ports.Exhausted = false;
        TurnAssert.Success(server.Allocate());
    }

    [Fact]
    public void Allocate_WhileDraining_Returns403AndExistingAllocationsCarryOn()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.Services.Draining = true;

        TurnReply refused = server.Allocate(source: server.Client.WithPort(40001));
        TurnReply refreshed = server.Refresh(600);

        TurnAssert.Error(403, refused);
        TurnAssert.SignedWith(TurnTestHarness.Alice, refused);
        TurnAssert.Success(refreshed);
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WhileDrainingWithAnAlternateServer_Returns300WithAlternateServer()
    {
        var server = new TurnTestHarness();
        var alternate = StunAddress.FromIPEndPoint(System.Net.IPEndPoint.Parse("203.0.113.7:3478"));
        server.Handler.Reload(server.Services with { AlternateServer = alternate });
        server.Services.Draining = true;

        TurnReply redirected = server.Allocate();

        TurnAssert.Error(300, redirected);
        TurnAssert.SignedWith(TurnTestHarness.Alice, redirected);
        Assert.True(AddressAttribute.TryRead(redirected.Required(StunAttributeType.AlternateServer), out StunAddress told));
        Assert.Equal(alternate, told);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Reload_KeepsTheDrainAndTheAllocations()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.Services.Draining = true;

        server.Handler.Reload(server.Services with { Limits = server.Services.Limits with { MaxAllocationsPerUser = 1 } });

        Assert.True(server.Handler.Relay!.Draining);
        TurnAssert.Success(server.Refresh(600));
        Assert.Equal(1, server.Handler.Relay.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithUnknownComprehensionRequiredAttribute_Returns420ListingIt()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Request(WithUnknownAttribute(server.Challenge()));

        TurnAssert.Error(420, reply);
        Span<ushort> types = stackalloc ushort[4];
        Assert.True(UnknownAttributes.TryRead(reply.Required(StunAttributeType.UnknownAttributes), types, out int count));
        Assert.Equal([(ushort)0x7F01], types[..count].ToArray());
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithUnknownComprehensionRequiredAttribute_Answers420SignedWithTheKey()
    {
        // RFC 8489 §6.3: unknown attributes are looked for once the authentication checks are
        // done, and §9.2.4: every response to an authenticated request carries MESSAGE-INTEGRITY
        // (a client may otherwise discard it, §9.2.5).
        var server = new TurnTestHarness();

        TurnReply reply = server.Request(WithUnknownAttribute(server.Challenge()));

        TurnAssert.Error(420, reply);
        Assert.True(
            reply.IsSignedWith(TurnTestHarness.Alice.Key(TurnTestHarness.Realm)),
            "RFC 8489 §6.3/§9.2.4: the 420 to an authenticated Allocate is checked before authentication and sent without MESSAGE-INTEGRITY");
    }

    private static byte[] WithUnknownAttribute(TurnChallenge challenge)
        => TurnMessages.Signed(
            StunMethod.Allocate,
            TurnMessages.TransactionId(),
            (ref StunWriter w) =>
            {
                TurnMessages.RequestedTransportUdp(ref w);
                w.AddUInt32((StunAttributeType)0x7F01, 1);
            },
            TurnTestHarness.Alice,
            challenge);

    [Fact]
    public void Allocate_WithUnknownComprehensionRequiredAttributeButNoCredentials_Returns401First()
    {
        // RFC 8489 §6.3: authentication comes before the unknown-attribute check.
        var server = new TurnTestHarness();

        TurnReply reply = server.Request(TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), (ref StunWriter w) =>
        {
            TurnMessages.RequestedTransportUdp(ref w);
            w.AddUInt32((StunAttributeType)0x7F01, 1);
        }));

        TurnAssert.Error(401, reply);
        Assert.False(reply.Has(StunAttributeType.UnknownAttributes));
    }

    [Fact]
    public void Allocate_WithUnknownComprehensionOptionalAttribute_Succeeds()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => w.AddUInt32((StunAttributeType)0xC001, 1));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_WithDontFragment_Succeeds()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(extra: (ref StunWriter w) => w.AddEmpty(StunAttributeType.DontFragment));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_Indication_IsIgnored()
    {
        var server = new TurnTestHarness();

        (HandleResult result, TurnReply? reply) = server.Exchange(TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Indication, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp));

        Assert.Equal(Outcome.Ignored, result.Outcome);
        Assert.Null(reply);
    }
}
