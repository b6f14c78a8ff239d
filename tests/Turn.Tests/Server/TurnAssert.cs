using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>Assertions on responses that say what came instead.</summary>
internal static class TurnAssert
{
    public static void Error(int expected, TurnReply reply)
    {
        Assert.True(reply.Class == StunClass.ErrorResponse && reply.ErrorCode == expected, $"expected error {expected}, got {reply}");
        Assert.True(reply.HasFingerprint, "FINGERPRINT missing");
    }

    public static void Success(TurnReply reply)
    {
        Assert.True(reply.Class == StunClass.SuccessResponse, $"expected success, got {reply}");
        Assert.True(reply.HasFingerprint, "FINGERPRINT missing");
    }

    /// <summary>RFC 8489 §9.2.4: every response to an authenticated request carries integrity with the same key.</summary>
    public static void SignedWith(TurnCredentials credentials, TurnReply reply)
    {
        byte[] key = credentials.Key(TurnTestHarness.Realm);
        bool verified = credentials.Algorithm == PasswordAlgorithm.Sha256 ? reply.IsSignedWithSha256(key) : reply.IsSignedWith(key);
        Assert.True(verified, $"{reply} is not signed with the {(credentials.Algorithm == PasswordAlgorithm.Sha256 ? "SHA-256" : "MD5")} key of {credentials.Username}");
    }

    /// <summary>A challenge or a 400 to an unauthenticated request carries no integrity: the server has no key for it.</summary>
    public static void Unsigned(TurnReply reply)
        => Assert.False(reply.HasIntegrity, $"{reply} carries MESSAGE-INTEGRITY although no key was agreed");
}
