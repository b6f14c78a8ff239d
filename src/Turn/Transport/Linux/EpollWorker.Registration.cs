namespace Turn.Transport.Linux;

/// <summary>Descriptors in this worker's epoll set: registration, tokens, and tokens retired only once no batch can still name them.</summary>
internal sealed unsafe partial class EpollWorker
{
    /// <summary>Adds a socket to this thread's epoll set; returns the token to remove it with.</summary>
    public int Register(int fd, IEpollSource source, uint events = Libc.EpollIn)
    {
        int token;
        lock (_registry)
        {
            token = _freeTokens.Count > 0 ? _freeTokens.Pop() : _nextToken++;
            if (token >= _sources.Length)
            {
                var larger = new IEpollSource?[_sources.Length * 2];
                _sources.CopyTo(larger, 0);
                Volatile.Write(ref _sources, larger);
            }

            Volatile.Write(ref _sources[token], source);
        }

        if (!Control(Libc.EpollCtlAdd, fd, token, events))
        {
            Retire(token);
            return -1;
        }

        Interlocked.Increment(ref _registered);
        return token;
    }

    /// <summary>
    /// Takes a socket out of the epoll set (the caller holds a reference, so the descriptor is
    /// still this socket's). Its token is reused only after this thread has finished the events
    /// it may already hold for it.
    /// </summary>
    public void Unregister(int fd, int token)
    {
        // After Dispose the set's descriptor is closed and its number may be another file's.
        if (Volatile.Read(ref _disposed) == 0)
        {
            Libc.EpollCtl(_epoll, Libc.EpollCtlDel, fd, null);
        }

        Interlocked.Decrement(ref _registered);
        Retire(token);
    }

    private void Retire(int token) => _retired.Enqueue(token);

    /// <summary>Changes what a registered socket is watched for (a connection waiting for room to write adds EPOLLOUT).</summary>
    public bool Modify(int fd, int token, uint events) => Control(Libc.EpollCtlMod, fd, token, events);

    private bool Control(int operation, int fd, int token, uint events)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }

        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + (Libc.EpollEventSize == 12 ? 4 : 8)) = (ulong)token;
        return Libc.EpollCtl(_epoll, operation, fd, ev) == 0;
    }

    /// <summary>Frees the tokens of sockets removed before this pass: no event of theirs can follow.</summary>
    private void ReleaseRetired()
    {
        if (_retired.IsEmpty)
        {
            return;
        }

        lock (_registry)
        {
            while (_retired.TryDequeue(out int token))
            {
                _sources[token] = null;
                _freeTokens.Push(token);
            }
        }
    }
}
