using Turn.Auth;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Auth;

/// <summary>The server side of RFC 8489 §9.2.4 on its own: what <see cref="Authenticator.Check"/> decides for each request.</summary>
public sealed class AuthenticatorTests
{
    private const string Realm = TurnTestHarness.Realm;
    private const long Now = 1_700_000_000;
    private static readonly StunAddress Client = TurnTestHarness.DefaultClient;

    private readonly NonceService _nonces = new(new byte[32], 600);
    private readonly Authenticator _authenticator;

    public AuthenticatorTests()
    {
        var users = new Dictionary<string, string> { ["alice"] = "alice-password" };
        _authenticator = new Authenticator(new CredentialStore(Realm, users, ["rest-secret-one", "rest-secret-two"]), _nonces);
    }

    [Fact]
    public void Check_WithoutIntegrity_Challenges()
    {
        byte[] request = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), null);

        Assert.Equal(AuthStatus.Challenge, Check(request).Status);
    }

    [Fact]
    public void Check_WithTheRightKey_NamesTheUserAndTheKey()
    {
        AuthResult result = Check(Signed(TurnTestHarness.Alice));

        Assert.Equal(AuthStatus.Ok, result.Status);
        Assert.Equal("alice", result.Username);
        Assert.Equal(PasswordAlgorithm.Md5, result.Key!.PasswordAlgorithm);
        Assert.Equal(Convert.FromHexString("68fd6b83613ee19cbd53f450da736b73"), result.Key.Key);
        Assert.False(result.Sha256Integrity);
    }

    [Fact]
    public void Check_WithSha256_UsesTheSha256Key()
    {
        AuthResult result = Check(Signed(TurnTestHarness.Alice.WithSha256()));

        Assert.Equal(AuthStatus.Ok, result.Status);
        Assert.True(result.Sha256Integrity);
        Assert.Equal(PasswordAlgorithm.Sha256, result.Key!.PasswordAlgorithm);
        Assert.Equal(Convert.FromHexString("8ff955233378c7951d080d7e863185497a81cd9c5b7edfeed736399b16930cd0"), result.Key.Key);
    }

    [Fact]
    public void Check_WithWrongPassword_IsUnauthorized()
    {
        Assert.Equal(AuthStatus.Unauthorized, Check(Signed(TurnTestHarness.Alice.WithPassword("nope"))).Status);
    }

    [Fact]
    public void Check_WithoutUsername_IsABadRequest()
    {
        Assert.Equal(AuthStatus.BadRequest, Check(Signed(TurnTestHarness.Alice, TurnOmit.Username)).Status);
    }

    [Fact]
    public void Check_WithStaleNonce_SaysSo()
    {
        byte[] request = Signed(TurnTestHarness.Alice);

        Assert.Equal(AuthStatus.StaleNonce, _authenticator.Check(Parse(request), Client, Now + 600).Status);
    }

    [Fact]
    public void Check_WithTheKnownKeyOfTheAllocation_SkipsDerivation()
    {
        AuthResult first = Check(Signed(TurnTestHarness.Alice));

        AuthResult again = _authenticator.Check(Parse(Signed(TurnTestHarness.Alice)), Client, Now, first.Username, first.Key);

        Assert.Equal(AuthStatus.Ok, again.Status);
        Assert.Same(first.Key, again.Key);
    }

    [Fact]
    public void Check_WithRestUsername_TriesEverySecret()
    {
        TurnCredentials rest = TurnTestHarness.RestUser(Now + 60, "carol", "rest-secret-two");

        AuthResult result = Check(Signed(rest));

        Assert.Equal(AuthStatus.Ok, result.Status);
        Assert.Equal(rest.Username, result.Username);
    }

    [Fact]
    public void Check_WithExpiredRestUsername_IsUnauthorized()
    {
        Assert.Equal(AuthStatus.Unauthorized, Check(Signed(TurnTestHarness.RestUser(Now - 1, "carol", "rest-secret-one"))).Status);
    }

    [Fact]
    public void CredentialStore_FindsStaticUsersByTheirUserHash()
    {
        Assert.Equal("alice", _authenticator.Credentials.UserForHash(LongTermKey.UserHash("alice", Realm)));
        Assert.Null(_authenticator.Credentials.UserForHash(LongTermKey.UserHash("mallory", Realm)));
        Assert.Null(_authenticator.Credentials.UserForHash(new byte[5]));
    }

    private AuthResult Check(byte[] request) => _authenticator.Check(Parse(request), Client, Now);

    private byte[] Signed(TurnCredentials credentials, TurnOmit omit = TurnOmit.None)
    {
        byte[] nonce = new byte[64];
        int length = _nonces.Create(Client, Now, nonce);
        byte[] algorithms = new byte[8];
        PasswordAlgorithm.WriteList(algorithms, [PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256]);
        var challenge = new TurnChallenge(Realm, nonce[..length], algorithms);
        return TurnMessages.Signed(StunMethod.Allocate, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp, credentials, challenge, omit);
    }

    private static StunMessage Parse(byte[] request)
    {
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(request, out StunMessage message));
        return message;
    }
}
