# Build the release binary, then ship it alone on a slim base.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 chancery
COPY --from=build /src/target/release/chancery /usr/local/bin/chancery
USER chancery
ENV CHANCERY_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["chancery"]
CMD ["serve"]
