using Turn.Auth;
using Xunit;

namespace Turn.Tests.Auth;

/// <summary>TURN REST credentials as coturn's use-auth-secret makes them; the expected passwords come from openssl.</summary>
public sealed class RestCredentialsTests
{
    [Theory]
    [InlineData("1700003600:carol", "B50SHIQ1HkbNoL/GUlAQqChkbi4=")]
    [InlineData("1700003600", "2tXVVw01LWHtwHveiipwx9hRf/o=")]
    public void Password_IsBase64HmacSha1OfTheUsername(string username, string expected)
    {
        // printf %s "$username" | openssl dgst -sha1 -hmac rest-secret-one -binary | base64
        Assert.Equal(expected, RestCredentials.Password("rest-secret-one", username));
    }

    [Fact]
    public void Username_IsExpiryColonUser()
    {
        Assert.Equal("1700003600:carol", RestCredentials.Username(1_700_003_600, "carol"));
        Assert.Equal("1700003600", RestCredentials.Username(1_700_003_600, null));
    }

    [Theory]
    [InlineData("1700003600:carol", true, 1_700_003_600L)]
    [InlineData("1700003600", true, 1_700_003_600L)]
    [InlineData("1700003600:with:colons", true, 1_700_003_600L)]
    [InlineData("carol", false, 0L)]
    [InlineData(":carol", false, 0L)]
    [InlineData("-5:carol", false, 0L)]
    [InlineData("+5:carol", false, 0L)]
    [InlineData(" 5:carol", false, 0L)]
    public void TryGetExpiry_ReadsOnlyAPlainTimestamp(string username, bool ok, long expiry)
    {
        Assert.Equal(ok, RestCredentials.TryGetExpiry(username, out long actual));
        if (ok)
        {
            Assert.Equal(expiry, actual);
        }
    }
}
