using Microsoft.Extensions.Configuration;
using Turn.Hosting;
using Xunit;
using Turn.Configuration;

namespace Turn.Tests.Hosting;

/// <summary>The local default: what a configuration without TURN credentials runs as.</summary>
public sealed class LocalDefaultTests
{
    [Fact]
    public void NoCredentials_GeneratesOneLongSecret_TheSameOnEveryRead()
    {
        ValidationResult first = TurnOptionsReader.Read(Config());
        ValidationResult reloaded = TurnOptionsReader.Read(Config(("Signal:MaxRooms", "10")));

        Assert.True(first.IsValid, string.Join("\n", first.Errors));
        Assert.True(first.Options.Auth.SecretGenerated);
        string secret = Assert.Single(first.Options.Auth.Secrets);
        Assert.True(secret.Length >= 40, $"{secret.Length} characters");
        // A reload keeps minting from the same secret: credentials handed out before stay valid.
        Assert.Equal(first.Options.Auth.Secrets, reloaded.Options.Auth.Secrets);
    }

    [Fact]
    public void NoCredentials_ServesTheDefaultHttpUrlOnLoopbackOnly_AndSaysSo()
    {
        ValidationResult result = TurnOptionsReader.Read(Config());

        Assert.Equal(["http://localhost:8080"], result.Options.Http.Urls);
        Assert.Contains(result.Warnings, w => w.Contains("\"http://0.0.0.0:8080\" is served as \"http://localhost:8080\"", StringComparison.Ordinal));
    }

    [Fact]
    public void TheGeneratedSecret_AppearsInNoWarningAndNoShownValue()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Http:Urls:0", "http://0.0.0.0:8080")));
        string secret = result.Options.Auth.Secrets[0];

        Assert.DoesNotContain(result.Warnings, w => w.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Entries, e => e.Value.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, LocalDefault.Describe(result.Options), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auth:Secrets:0", "configured-secret-0123456789")]
    [InlineData("Auth:Users:0", "alice:password")]
    public void WithCredentials_NothingIsGenerated_AndHttpListensAsConfigured(string key, string value)
    {
        ValidationResult result = TurnOptionsReader.Read(Config((key, value)));

        Assert.False(result.Options.Auth.SecretGenerated);
        Assert.Equal(["http://0.0.0.0:8080"], result.Options.Http.Urls);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("Http:Urls", StringComparison.Ordinal));
        Assert.StartsWith("serving: ", LocalDefault.Describe(result.Options), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080")]
    [InlineData("http://127.0.0.2:8080/", "http://127.0.0.2:8080/")]
    [InlineData("http://[::1]:8080", "http://[::1]:8080")]
    [InlineData("http://localhost:8080", "http://localhost:8080")]
    [InlineData("http://0.0.0.0:8080", "http://localhost:8080")]
    [InlineData("https://203.0.113.7:443", "https://127.0.0.1:443")]
    [InlineData("http://[::]:8080", "http://localhost:8080")]
    [InlineData("http://[2001:db8::7]:80", "http://[::1]:80")]
    [InlineData("http://[::ffff:203.0.113.7]:8080", "http://[::1]:8080")]
    [InlineData("http://turn.example.org:8080", "http://localhost:8080")]
    public void OnLoopback_KeepsLoopbackUrls_ServesWildcardsOnLocalhost_AndMovesEveryOtherToItsFamilysLoopback(string url, string expected)
        => Assert.Equal(expected, LocalDefault.OnLoopback(url));

    [Fact]
    public void Reload_IntoOrOutOfTheLocalDefault_KeepsTheRunningCredentials()
    {
        TurnOptions local = TurnOptionsReader.Read(Config()).Options;
        TurnOptions configured = TurnOptionsReader.Read(Config(("Auth:Secrets:0", "configured-secret-0123456789"))).Options;

        Assert.Equal(local.Auth, RestartOnly.Keep(local, configured).Auth);
        Assert.Equal(configured.Auth, RestartOnly.Keep(configured, local).Auth);
    }

    private static IConfiguration Config(params (string Key, string Value)[] pairs)
        => new ConfigurationBuilder()
            .AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)))
            .Build();
}
