using Turn.Auth;
using Xunit;

namespace Turn.Tests.Auth;

/// <summary>SASLprep (RFC 4013) as the RFC 5769 §2.4 and RFC 8489 B.1 vectors need it.</summary>
public sealed class SaslprepTests
{
    [Fact]
    public void VectorPassword_PreparesToTheMatrix()
        => Assert.Equal("TheMatrIX", Saslprep.Prepare("The\u00ADM\u00AAtr\u2168"));

    [Theory]
    [InlineData("")]
    [InlineData("user")]
    [InlineData("VOkJxbRl1RmTxUk/WvJxBt")]
    [InlineData("pass word ~!@#$%^&*()")]
    [InlineData("example.org")]
    public void Ascii_IsUnchanged(string input) => Assert.Equal(input, Saslprep.Prepare(input));

    [Theory]
    [InlineData("I\u00ADX", "IX")]
    [InlineData("a\u200Bb", "ab")]
    [InlineData("a\uFEFFb", "ab")]
    [InlineData("\u2168", "IX")]
    [InlineData("\u00AA", "a")]
    [InlineData("\uFB01", "fi")]
    [InlineData("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9")]
    public void NonAscii_IsMappedAndNormalized(string input, string expected)
        => Assert.Equal(expected, Saslprep.Prepare(input));

    [Theory]
    [InlineData("a\u00A0b", "a b")]
    [InlineData("a\u3000b", "a b")]
    [InlineData("a\u2003b", "a b")]
    public void NonAsciiSpace_BecomesSpace(string input, string expected)
        => Assert.Equal(expected, Saslprep.Prepare(input));

    [Theory]
    [InlineData("a\u0007b")]
    [InlineData("\u0000")]
    [InlineData("tab\there")]
    [InlineData("del\u007F")]
    [InlineData("\u00E9\u0001")]
    [InlineData("c1\u0085")]
    [InlineData("private\uE000")]
    [InlineData("\uFFFD")]
    [InlineData("bidi\u202E")]
    public void ProhibitedCharacter_GivesNull(string input) => Assert.Null(Saslprep.Prepare(input));
}
