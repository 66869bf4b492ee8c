package endpoint

// sunPathLimit is sizeof(sockaddr_un.sun_path) on Linux.
const sunPathLimit = 108
