using System.Security.Cryptography;
using System.Text;
using Turn.Auth;
using Turn.Wire;
using Xunit;

// The MD5 key is the protocol's own (RFC 8489 §9.2.2); the test recomputes it.
#pragma warning disable CA5351

namespace Turn.Tests.Auth;

/// <summary>The long-term key and USERHASH (RFC 8489 §9.2.2, §14.4).</summary>
public sealed class LongTermKeyTests
{
    private const string Username = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
    private const string Password = "The\u00ADM\u00AAtr\u2168";
    private const string Realm = "example.org";

    [Fact]
    public void Md5Key_IsMd5OfUsernameRealmAndPreparedPassword()
    {
        byte[] expected = MD5.HashData(Encoding.UTF8.GetBytes(Username + ":" + Realm + ":TheMatrIX"));
        Assert.Equal(expected, LongTermKey.Derive(PasswordAlgorithm.Md5, Username, Realm, Password));
    }

    [Fact]
    public void Sha256Key_IsSha256OfUsernameRealmAndPreparedPassword()
    {
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(Username + ":" + Realm + ":TheMatrIX"));
        Assert.Equal(expected, LongTermKey.Derive(PasswordAlgorithm.Sha256, Username, Realm, Password));
    }

    [Fact]
    public void AsciiCredentials_KeyIsMd5OfTheJoinedText()
    {
        byte[] expected = MD5.HashData("alice:example.org:secret"u8);
        Assert.Equal(expected, LongTermKey.Derive(PasswordAlgorithm.Md5, "alice", "example.org", "secret"));
    }

    [Fact]
    public void ProhibitedPassword_GivesNoKey()
        => Assert.Null(LongTermKey.Derive(PasswordAlgorithm.Md5, "alice", "example.org", "bad\u0000password"));

    [Fact]
    public void UserHash_MatchesRfc8489VectorB1()
    {
        byte[] expected = Convert.FromHexString("4A3CF38FEF6992BDA952C6780417DA0F24819415569E60B205C46E41407F1704");
        Assert.Equal(expected, LongTermKey.UserHash(Username, Realm));
    }
}
