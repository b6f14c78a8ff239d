using System.Buffers.Binary;
using System.Text;
using Turn.Auth;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>The long-term credential mechanism as a TURN client meets it (RFC 8489 §9.2, RFC 8656 §7.2 step 1, TURN REST).</summary>
public sealed class TurnHandlerAuthTests
{
    [Fact]
    public void Allocate_WithoutIntegrity_Returns401WithRealmNonceAndPasswordAlgorithms()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Request(TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp));

        TurnAssert.Error(401, reply);
        TurnAssert.Unsigned(reply);
        Assert.Equal(TurnTestHarness.Realm, reply.Realm);
        Assert.StartsWith(NonceService.Cookie, Encoding.ASCII.GetString(reply.Nonce), StringComparison.Ordinal);
        Span<ushort> offered = stackalloc ushort[4];
        Assert.True(PasswordAlgorithm.TryReadList(reply.Required(StunAttributeType.PasswordAlgorithms), offered, out int count));
        Assert.Equal([PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256], offered[..count].ToArray());
        Assert.Equal(0, server.Allocations.Count);
        Assert.Empty(server.Ports.Opened);
    }

    [Theory]
    [InlineData("USERNAME")]
    [InlineData("NONCE")]
    [InlineData("REALM")]
    public void Allocate_WithIntegrityButMissingCredentialAttribute_Returns400(string missing)
    {
        var server = new TurnTestHarness();
        TurnOmit omit = missing switch
        {
            "USERNAME" => TurnOmit.Username,
            "NONCE" => TurnOmit.Nonce,
            _ => TurnOmit.Realm,
        };

        TurnReply reply = server.Request(server.Signed(StunMethod.Allocate, TurnMessages.RequestedTransportUdp, omit: omit));

        TurnAssert.Error(400, reply);
        TurnAssert.Unsigned(reply);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithWrongPassword_Returns401WithANewChallenge()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(TurnTestHarness.Alice.WithPassword("not-alices-password"));

        TurnAssert.Error(401, reply);
        TurnAssert.Unsigned(reply);
        Assert.Equal(TurnTestHarness.Realm, reply.Realm);
        Assert.NotEmpty(reply.Nonce);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_ForUnknownUser_Returns401()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(new TurnCredentials("mallory", "guess"));

        TurnAssert.Error(401, reply);
        TurnAssert.Unsigned(reply);
    }

    [Fact]
    public void Allocate_WithAnotherRealm_Returns401()
    {
        var server = new TurnTestHarness();
        TurnChallenge challenge = server.Challenge() with { Realm = "elsewhere.example" };

        TurnReply reply = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge));

        TurnAssert.Error(401, reply);
    }

    [Fact]
    public void Allocate_WithStaleNonce_Returns438WithAFreshNonceThatWorks()
    {
        var server = new TurnTestHarness(nonceLifetimeSeconds: 60);
        TurnChallenge old = server.Challenge();
        server.Advance(60);

        TurnReply stale = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, old));

        TurnAssert.Error(438, stale);
        TurnAssert.Unsigned(stale);
        Assert.Equal(TurnTestHarness.Realm, stale.Realm);
        Assert.NotEqual(old.Nonce, stale.Nonce);
        Assert.True(stale.Has(StunAttributeType.PasswordAlgorithms), "RFC 8489 §9.2.4: a 438 carries PASSWORD-ALGORITHMS");
        TurnReply retried = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, stale.Challenge));
        TurnAssert.Success(retried);
    }

    [Fact]
    public void Allocate_WithNonceJustInsideItsLifetime_Succeeds()
    {
        var server = new TurnTestHarness(nonceLifetimeSeconds: 60);
        TurnChallenge challenge = server.Challenge();
        server.Advance(59);

        TurnReply reply = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_WithNonceIssuedToAnotherClientIp_Returns438()
    {
        var server = new TurnTestHarness();
        TurnChallenge challenge = server.Challenge(source: TurnTestHarness.At("198.51.100.8", 40000));

        TurnReply reply = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge));

        TurnAssert.Error(438, reply);
        Assert.True(server.Nonces.IsValid(reply.Nonce, server.Client, server.UnixSeconds), "the 438 must carry a nonce for this client");
    }

    [Fact]
    public void Allocate_WithNonceFromAnotherPortOfTheSameIp_Succeeds()
    {
        var server = new TurnTestHarness();
        TurnChallenge challenge = server.Challenge(source: server.Client.WithPort(40001));

        TurnReply reply = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_WithRestCredentials_Succeeds()
    {
        var server = new TurnTestHarness();
        TurnCredentials rest = TurnTestHarness.RestUser(server.UnixSeconds + 3600, "carol", TurnTestHarness.Secrets[0]);

        TurnReply reply = server.Allocate(rest);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(rest, reply);
        Assert.Equal(rest.Username, server.AllocationOf().Username);
    }

    [Fact]
    public void Allocate_WithRestUsernameWithoutUser_Succeeds()
    {
        var server = new TurnTestHarness();
        string username = RestCredentials.Username(server.UnixSeconds + 60, null);

        TurnReply reply = server.Allocate(new TurnCredentials(username, RestCredentials.Password(TurnTestHarness.Secrets[0], username)));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_WithExpiredRestUsername_Returns401()
    {
        var server = new TurnTestHarness();
        TurnCredentials rest = TurnTestHarness.RestUser(server.UnixSeconds - 1, "carol", TurnTestHarness.Secrets[0]);

        TurnReply reply = server.Allocate(rest);

        TurnAssert.Error(401, reply);
        Assert.Equal(0, server.Allocations.Count);
    }

    [Fact]
    public void Allocate_WithRestUsernameExpiringNow_Returns401()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(TurnTestHarness.RestUser(server.UnixSeconds, "carol", TurnTestHarness.Secrets[0]));

        TurnAssert.Error(401, reply);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Allocate_WithEitherActiveRestSecret_Succeeds(int secret)
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(TurnTestHarness.RestUser(server.UnixSeconds + 600, "carol", TurnTestHarness.Secrets[secret]));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Allocate_WithRetiredRestSecret_Returns401()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(TurnTestHarness.RestUser(server.UnixSeconds + 600, "carol", "retired-secret"));

        TurnAssert.Error(401, reply);
    }

    [Fact]
    public void Allocate_WithSha256Credentials_AnswersWithMessageIntegritySha256()
    {
        var server = new TurnTestHarness();
        TurnCredentials alice = TurnTestHarness.Alice.WithSha256();

        TurnReply reply = server.Allocate(alice);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(alice, reply);
        Assert.False(reply.Has(StunAttributeType.MessageIntegrity), "a SHA-256 request is answered with MESSAGE-INTEGRITY-SHA256 only");
    }

    [Fact]
    public void Refresh_OnSha256Allocation_IsAnsweredWithMessageIntegritySha256()
    {
        var server = new TurnTestHarness();
        TurnCredentials alice = TurnTestHarness.Alice.WithSha256();
        server.AllocateOk(alice);

        TurnReply reply = server.Refresh(600, alice);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(alice, reply);
    }

    [Fact]
    public void Allocate_WithMd5NamedInPasswordAlgorithm_Succeeds()
    {
        var server = new TurnTestHarness();
        TurnCredentials alice = TurnTestHarness.Alice with { NameAlgorithm = true };

        TurnReply reply = server.Allocate(alice);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(alice, reply);
    }

    [Theory]
    [InlineData(PasswordAlgorithm.Md5)]
    [InlineData(PasswordAlgorithm.Sha256)]
    public void Allocate_WithUserHash_Succeeds(ushort algorithm)
    {
        var server = new TurnTestHarness();
        TurnCredentials alice = TurnTestHarness.Alice with { Algorithm = algorithm, UserHash = true };

        TurnReply reply = server.Allocate(alice);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(alice, reply);
        Assert.Equal(TurnTestHarness.Alice.Username, server.AllocationOf().Username);
    }

    [Fact]
    public void Allocate_WithUserHashOfUnknownUser_Returns401()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Allocate(new TurnCredentials("mallory", "guess", PasswordAlgorithm.Sha256, UserHash: true));

        TurnAssert.Error(401, reply);
    }

    [Fact]
    public void Allocate_WithPasswordAlgorithmsOtherThanOffered_Returns400()
    {
        // RFC 8489 §9.2.4: an echoed list that differs from the offer is a downgrade attempt.
        var server = new TurnTestHarness();
        byte[] md5Only = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(md5Only, PasswordAlgorithm.Md5);
        TurnChallenge challenge = server.Challenge() with { PasswordAlgorithms = md5Only };
        TurnCredentials alice = TurnTestHarness.Alice with { NameAlgorithm = true };

        TurnReply reply = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, alice, challenge));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void Allocate_WithPasswordAlgorithmButNoList_Returns400()
    {
        var server = new TurnTestHarness();
        TurnChallenge challenge = server.Challenge();
        byte[] request = TurnMessages.Signed(
            StunMethod.Allocate,
            TurnMessages.TransactionId(),
            (ref StunWriter w) =>
            {
                TurnMessages.RequestedTransportUdp(ref w);
                w.AddUInt32(StunAttributeType.PasswordAlgorithm, (uint)PasswordAlgorithm.Sha256 << 16);
            },
            TurnTestHarness.Alice,
            challenge);

        TurnReply reply = server.Request(request);

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void Challenge_ToABareAllocate_CarriesOnlyWhatRfc8489Requires()
    {
        var server = new TurnTestHarness();
        byte[] allocate = new byte[28];
        var writer = StunWriter.Create(allocate, StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId());
        TurnMessages.RequestedTransportUdp(ref writer);

        TurnReply reply = server.Request(allocate);

        // Header, ERROR-CODE "Unauthorized", REALM (padded), a 32-byte NONCE, PASSWORD-ALGORITHMS: nothing else.
        int realm = 4 + ((TurnTestHarness.Realm.Length + 3) & ~3);
        Assert.Equal(401, reply.ErrorCode);
        Assert.Equal(20 + 20 + realm + 36 + 12, reply.Raw.Length);
        Assert.False(reply.Has(StunAttributeType.Software));
        Assert.False(reply.HasFingerprint);
    }

    [Fact]
    public void UnsignedAnswers_PastTheSourcesByteBudget_AreNotSent()
    {
        byte[] unsigned = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp);
        int challengeLength = new TurnTestHarness().Exchange(unsigned).Result.Length;
        var server = new TurnTestHarness(unauthenticatedBudget: new SourceBudget(2 * challengeLength));
        TurnChallenge challenge = server.Request(unsigned).Challenge;
        TurnAssert.Error(401, server.Request(unsigned));

        (HandleResult third, TurnReply? none) = server.Exchange(unsigned);
        (HandleResult otherSource, _) = server.Exchange(unsigned, TurnTestHarness.At("198.51.100.9", 40000));
        server.Advance(1);
        (HandleResult nextSecond, _) = server.Exchange(unsigned, server.Client.WithPort(40001));

        Assert.Equal(Outcome.DroppedRateLimited, third.Outcome);
        Assert.Null(none);
        Assert.Equal(Outcome.Rejected, otherSource.Outcome);
        Assert.Equal(Outcome.Rejected, nextSecond.Outcome);
    }

    [Fact]
    public void SpentSource_WithANonceThisServerGaveIt_IsStillAnswered_AndWithAnotherNonceIsNot()
    {
        byte[] unsigned = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp);
        var server = new TurnTestHarness(unauthenticatedBudget: new SourceBudget(100));
        TurnChallenge challenge = server.Request(unsigned).Challenge;
        Assert.Equal(Outcome.DroppedRateLimited, server.Exchange(unsigned).Result.Outcome);
        TurnChallenge forged = challenge with { Nonce = [.. challenge.Nonce[..^4], .. "AAAA"u8] };

        (HandleResult guessed, _) = server.Exchange(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, forged));
        TurnReply proven = server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge));

        Assert.Equal(Outcome.DroppedRateLimited, guessed.Outcome);
        TurnAssert.Success(proven);
        TurnAssert.SignedWith(TurnTestHarness.Alice, proven);
    }

    [Fact]
    public void StreamSources_AreNotBudgeted_TheirHandshakeProvedThem()
    {
        byte[] unsigned = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp);
        var server = new TurnTestHarness(unauthenticatedBudget: new SourceBudget(100));
        byte[] response = new byte[2048];
        RequestContext tcp = server.Context() with { Transport = global::Turn.Relay.TransportProtocol.Tcp };

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(Outcome.Rejected, server.Handler.Handle(unsigned, tcp, response).Outcome);
        }
    }

    [Fact]
    public void SignedRequestOnAnExistingAllocation_FromASpentSource_IsStillAnswered()
    {
        byte[] unsigned = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp);
        var server = new TurnTestHarness(unauthenticatedBudget: new SourceBudget(1000));
        TurnChallenge challenge = server.Request(unsigned).Challenge;
        TurnAssert.Success(server.Request(TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, TurnTestHarness.Alice, challenge)));
        while (server.Exchange(unsigned, server.Client.WithPort(40001)).Result.Outcome != Outcome.DroppedRateLimited)
        {
        }

        TurnReply refresh = server.Request(TurnMessages.Signed(StunMethod.Refresh, TurnMessages.TransactionId(), null, TurnTestHarness.Alice, challenge));

        TurnAssert.Success(refresh);
        TurnAssert.SignedWith(TurnTestHarness.Alice, refresh);
    }

    [Fact]
    public void Allocate_WithTamperedRequest_Returns401()
    {
        var server = new TurnTestHarness();
        byte[] request = server.Signed(StunMethod.Allocate, (ref StunWriter w) =>
        {
            TurnMessages.RequestedTransportUdp(ref w);
            w.AddUInt32(StunAttributeType.Lifetime, 600);
        });

        // Change LIFETIME after signing and fix FINGERPRINT, as an on-path attacker could.
        int lifetime = request.AsSpan().IndexOf(new byte[] { 0x00, 0x0D, 0x00, 0x04 }) + 4;
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(lifetime), 3600);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(request.Length - 4), Fingerprint.Compute(request.AsSpan(0, request.Length - 8)));

        TurnReply reply = server.Request(request);

        TurnAssert.Error(401, reply);
    }
}
